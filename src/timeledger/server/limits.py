"""Protections in front of the API surfaces: a body size limit enforced while the body
streams in (a lying Content-Length or a chunked upload cannot get past it), a bound on the
nesting of JSON bodies (checked on the same stream, before any parser recurses into them),
and admission control that queues requests beyond the server's concurrency before they take
a connection. Refusals are rendered by the surface's own `render_error`."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from timeledger.server.protection.render import RenderError

MAX_BODY_BYTES = 1024 * 1024
# Deeper than any body a client needs (metadata objects included); a parser that recurses
# into 10,000 nested arrays would fail with a RecursionError instead of a 400.
MAX_JSON_DEPTH = 64
_ERROR_CODES = {400: "invalid_request", 413: "payload_too_large"}


def plain_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The refusal of a path no surface renders: `{"error", "error_description"}`."""
    body = json.dumps({"error": code, "error_description": message}).encode()
    return Response(body, status, headers=dict(headers or {}), media_type="application/json")


def has_body(scope: Scope) -> bool:
    """Whether a request may carry a body: in HTTP/1 it gives one length or the other, and a
    request with neither has none (RFC 9112 6.3). The checks below leave such requests alone.
    (HTTP/2 frames a body without either.)"""
    if scope.get("http_version") not in ("1.0", "1.1"):
        return True
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


@dataclass(frozen=True)
class PathLimit:
    """A different body limit for the paths `pattern` matches (uploads), and its message."""

    pattern: re.Pattern[str]
    max_bytes: int
    description: str


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        path_limits: Sequence[PathLimit] = (),
        render_error: RenderError = plain_error,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.description = f"the request body exceeds the limit of {max_bytes} bytes"
        self.path_limits = tuple(path_limits)
        self.render_error = render_error

    def _limit_for(self, path: str) -> tuple[int, str]:
        for limit in self.path_limits:
            if limit.pattern.match(path):
                return limit.max_bytes, limit.description
        return self.max_bytes, self.description

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        max_bytes, description = self._limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._reject(scope, receive, send, HTTPException(413, description))
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    # Raised inside the surface's body parsing, so the surface renders the
                    # 413 in its own error format.
                    raise HTTPException(413, description)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:
            # A refusal raised by a body check in a layer that renders no errors itself.
            if started:
                raise
            await self._reject(scope, receive, send, exc)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
        code = _ERROR_CODES.get(exc.status_code, "invalid_request")
        response = self.render_error(exc.status_code, code, exc.detail, None)
        await response(scope, receive, send)


class JsonDepthLimit:
    """Refuses (400) a JSON body nested deeper than `max_depth`, while it streams in. The
    scan visits only brackets, quotes and backslashes, keeping its state across chunks."""

    _TOKENS = re.compile(rb'[\[\]{}"\\]')

    def __init__(self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
        # FastAPI parses a body without a Content-Type as JSON too.
        if content_type and b"json" not in content_type:
            await self.app(scope, receive, send)
            return
        depth = seen = 0
        in_string = False
        escaped_at = -1  # offset of the character a backslash in a string escapes

        async def checked_receive() -> Message:
            nonlocal depth, seen, in_string, escaped_at
            message = await receive()
            if message["type"] != "http.request":
                return message
            body: bytes = message.get("body", b"")
            for match in self._TOKENS.finditer(body):
                at, token = seen + match.start(), match.group()
                if in_string:
                    if at == escaped_at:
                        continue
                    if token == b"\\":
                        escaped_at = at + 1
                    elif token == b'"':
                        in_string = False
                elif token == b'"':
                    in_string = True
                elif token in (b"[", b"{"):
                    depth += 1
                    if depth > self.max_depth:
                        raise HTTPException(
                            400, f"the JSON body is nested deeper than {self.max_depth} levels"
                        )
                elif token in (b"]", b"}"):
                    depth -= 1
            seen += len(body)
            return message

        await self.app(scope, checked_receive, send)


class Admission:
    """The server's concurrency: one for all surfaces, since they share the worker threads
    and the connection pool."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:  # created in the server's event loop
            self._slots = asyncio.Semaphore(self.limit)
        return self._slots


class ConcurrencyLimit:
    """At most `limit` requests of the wrapped app(s) run at once; the rest wait here, in the
    event loop, holding nothing. Without it, a request that already holds a pooled connection
    can wait for a worker thread while every thread waits for a connection: a stall as soon
    as clients outnumber the pool."""

    def __init__(self, app: ASGIApp, limit: int | Admission) -> None:
        self.app = app
        self.admission = limit if isinstance(limit, Admission) else Admission(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.admission.slots:
            await self.app(scope, receive, send)


class ResponseHeaders:
    """Adds fixed headers to every response of the wrapped app (pure ASGI, no body copy)."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, with_headers)
