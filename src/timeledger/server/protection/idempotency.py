"""Idempotency keys (IETF draft "The Idempotency-Key HTTP Header Field"): a POST, PATCH or
DELETE sent again with the same `Idempotency-Key` by the same API key within 24 hours gets
the first response again instead of running twice.

Before the request runs, its key is claimed in a short transaction of its own: an insert that
the unique constraint lets exactly one of concurrent requests win. The winner runs; the others
see its row: a different request under the same key is a 422, one still running a 409, a
finished one is replayed (status and body, `Idempotent-Replayed: true`). The response is kept
before its last byte is sent, so a client that has the whole answer can always get it again;
a 5xx (or a response too large to keep) gives the key up, so a retry runs anew. A claim still
unfinished after ABANDONED_AFTER was left by a process that died mid-request (no request runs
that long): a retry takes it over and runs."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.clock import utcnow
from timeledger.server.db import Database
from timeledger.server.protection.models import IdempotencyRecord
from timeledger.server.protection.render import RenderError
from timeledger.server.surfaces.http import SCOPE_AUTH

HEADER = b"idempotency-key"
METHODS = frozenset({"POST", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)
# Larger responses are not kept (the key is given up instead): write responses are small.
MAX_STORED_BYTES = 1024 * 1024
_ERROR_CODES = {400: "invalid_request", 413: "payload_too_large"}


# --- the records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """Who holds a key: this request (`record_id`, run it) or an earlier one (`earlier`)."""

    record_id: uuid.UUID | None
    earlier: IdempotencyRecord | None


def claim(session: Session, caller: Authenticated, key: str, fingerprint: str) -> Claim:
    now = utcnow()
    mine = (
        IdempotencyRecord.account_id == caller.actor.account_id,
        IdempotencyRecord.api_key_id == caller.key.id,
        IdempotencyRecord.key == key,
    )
    # An expired or abandoned claim is gone, whether or not the pruning job got to it yet.
    session.execute(
        delete(IdempotencyRecord).where(
            *mine,
            or_(
                IdempotencyRecord.expires_at <= now,
                and_(
                    IdempotencyRecord.status_code.is_(None),
                    IdempotencyRecord.created_at <= now - ABANDONED_AFTER,
                ),
            ),
        )
    )
    record = IdempotencyRecord(
        account_id=caller.actor.account_id,
        api_key_id=caller.key.id,
        key=key,
        fingerprint=fingerprint,
        expires_at=now + RETENTION,
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:  # held already (on PostgreSQL: once its holder committed)
        return Claim(None, session.scalars(select(IdempotencyRecord).where(*mine)).one())
    return Claim(record.id, None)


def complete(
    session: Session, record_id: uuid.UUID, status: int, content_type: str | None, body: bytes
) -> None:
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(status_code=status, content_type=content_type, body=body)
    )


def release(session: Session, record_id: uuid.UUID) -> None:
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


def prune_expired(session: Session) -> int:
    """Background job: forget keys older than the retention."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- the ASGI layer --------------------------------------------------------------------------


def requested(scope: Scope) -> bool:
    """Whether the request asks for idempotency: a POST, PATCH or DELETE with the header."""
    return scope["method"] in METHODS and any(name == HEADER for name, _ in scope["headers"])


class Idempotency:
    """ASGI wrapper around one surface (inside the rate limit, which identifies the key)."""

    def __init__(self, app: ASGIApp, database: Database, render_error: RenderError) -> None:
        self.app = app
        self.database = database
        self.render_error = render_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not requested(scope):
            await self.app(scope, receive, send)
            return
        caller = scope.get(SCOPE_AUTH)
        key = dict(scope["headers"])[HEADER].decode("latin-1").strip()
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            await self._refuse(
                scope,
                receive,
                send,
                400,
                "invalid_request",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
            )
            return
        if not isinstance(caller, Authenticated):  # no valid API key: the surface answers 401
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except HTTPException as exc:  # a body limit, raised while it streamed in
            code = _ERROR_CODES.get(exc.status_code, "invalid_request")
            await self._refuse(scope, receive, send, exc.status_code, code, exc.detail)
            return
        request = fingerprint(scope["method"], scope["path"], scope["query_string"], body)
        held = await anyio.to_thread.run_sync(self._claim, caller, key, request)
        if held.earlier is not None:
            await self._answer_earlier(scope, receive, send, held.earlier, request)
            return
        assert held.record_id is not None
        await self._run(scope, _replay(body, receive), send, held.record_id)

    def _claim(self, caller: Authenticated, key: str, fingerprint: str) -> Claim:
        with self.database.transaction(write=True) as session:
            return claim(session, caller, key, fingerprint)

    async def _answer_earlier(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        earlier: IdempotencyRecord,
        fingerprint: str,
    ) -> None:
        if earlier.fingerprint != fingerprint:
            await self._refuse(
                scope,
                receive,
                send,
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; use a new key",
            )
        elif earlier.status_code is None:
            await self._refuse(
                scope,
                receive,
                send,
                409,
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is still being processed; retry later",
            )
        else:
            headers = {"Idempotent-Replayed": "true"}
            if earlier.content_type:
                headers["Content-Type"] = earlier.content_type
            replay = Response(earlier.body or b"", earlier.status_code, headers=headers)
            await replay(scope, receive, send)

    async def _run(self, scope: Scope, receive: Receive, send: Send, record_id: uuid.UUID) -> None:
        status = 500
        content_type: str | None = None
        kept: list[bytes] = []
        size = 0
        finished = False

        async def keeping_send(message: Message) -> None:
            nonlocal status, content_type, size, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_STORED_BYTES:
                    kept.append(chunk)
                if not message.get("more_body", False):
                    # Kept before the last byte goes out: whoever got the whole answer can
                    # get it again.
                    finished = True
                    await self._settle(record_id, status, content_type, kept, size)
            await send(message)

        try:
            await self.app(scope, receive, keeping_send)
        finally:
            if not finished:  # the app failed or the client went away before the end
                await anyio.to_thread.run_sync(self._release, record_id)

    async def _settle(
        self,
        record_id: uuid.UUID,
        status: int,
        content_type: str | None,
        kept: list[bytes],
        size: int,
    ) -> None:
        if status >= 500 or size > MAX_STORED_BYTES:
            await anyio.to_thread.run_sync(self._release, record_id)
            return
        await anyio.to_thread.run_sync(
            self._complete, record_id, status, content_type, b"".join(kept)
        )

    def _complete(
        self, record_id: uuid.UUID, status: int, content_type: str | None, body: bytes
    ) -> None:
        with self.database.transaction(write=True) as session:
            complete(session, record_id, status, content_type, body)

    def _release(self, record_id: uuid.UUID) -> None:
        with self.database.transaction(write=True) as session:
            release(session, record_id)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        await self.render_error(status, code, message, None)(scope, receive, send)


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests the same request."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body, read already, handed to the app once; then the connection's own messages."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
