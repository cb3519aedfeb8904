"""Protections in front of the API surfaces: a body size limit enforced while the body
streams in (a lying Content-Length or a chunked upload cannot get past it), and admission
control that queues requests beyond the server's concurrency before they take a connection."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024


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
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.description = f"the request body exceeds the limit of {max_bytes} bytes"
        self.path_limits = tuple(path_limits)

    def _limit_for(self, path: str) -> tuple[int, str]:
        for limit in self.path_limits:
            if limit.pattern.match(path):
                return limit.max_bytes, limit.description
        return self.max_bytes, self.description

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes, description = self._limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._reject(send, description)
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
        except HTTPException:
            if started:
                raise
            await self._reject(send, description)

    async def _reject(self, send: Send, description: str) -> None:
        body = json.dumps(
            {
                "error": "payload_too_large",
                "error_description": description,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class ConcurrencyLimit:
    """At most `limit` requests of the wrapped app run at once; the rest wait here, in the
    event loop, holding nothing. Without it, a request that already holds a pooled connection
    can wait for a worker thread while every thread waits for a connection: a stall as soon
    as clients outnumber the pool."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created in the server's event loop
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
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
