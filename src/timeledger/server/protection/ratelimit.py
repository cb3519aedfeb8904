"""Rate limits: each API key may make its account's hourly number of requests (fixed windows
of an hour), counted before the request reaches a surface.

The caller was found by the authentication layer outside this one; a wrong or missing token
never spends anyone's quota (it goes on to get its 401). Counters live in this process, or in
Redis when several processes must share them. Headers follow the IETF draft
(`RateLimit-Policy: "hourly";q=N;w=3600`, `RateLimit: "hourly";r=R;t=T`) and GitHub's
`X-RateLimit-*` (Reset as a Unix time)."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from timeledger.server.accounts.keys import Authenticated
from timeledger.server.accounts.plans import hourly_request_limit
from timeledger.server.core.clock import utcnow
from timeledger.server.protection.render import RenderError
from timeledger.server.surfaces.http import SCOPE_AUTH

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("timeledger.ratelimit")

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Usage:
    """A key's count in the current window, this request included."""

    count: int
    limit: int
    reset_at: int  # Unix time the window ends

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    def headers(self, now: float) -> list[tuple[str, str]]:
        remaining = max(0, self.limit - self.count)
        reset_in = max(0, self.reset_at - int(now))
        return [
            ("RateLimit-Policy", f'"hourly";q={self.limit};w={WINDOW_SECONDS}'),
            ("RateLimit", f'"hourly";r={remaining};t={reset_in}'),
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(self.reset_at)),
        ]


class Counter(Protocol):
    async def hit(self, key_pk: uuid.UUID, now: float) -> tuple[int, int]:
        """Count one request of the key in the window holding `now`: (count, window end)."""

    async def aclose(self) -> None: ...


def _window(now: float) -> tuple[int, int]:
    start = int(now) // WINDOW_SECONDS * WINDOW_SECONDS
    return start, start + WINDOW_SECONDS


class MemoryCounter:
    """Counters of this process (the embedded default)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window_start = 0
        self._counts: dict[uuid.UUID, int] = {}

    async def hit(self, key_pk: uuid.UUID, now: float) -> tuple[int, int]:
        start, end = _window(now)
        with self._lock:
            if start != self._window_start:  # a new hour: every key starts again
                self._window_start = start
                self._counts = {}
            count = self._counts.get(key_pk, 0) + 1
            self._counts[key_pk] = count
        return count, end

    async def aclose(self) -> None:
        return None


class RedisCounter:
    """Counters in Redis: INCR and EXPIREAT in one MULTI, so concurrent requests of every
    process get distinct counts and a window's key disappears when it ends."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self._redis: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> Redis:
        # A connection belongs to the event loop it was opened in.
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            from redis.asyncio import Redis  # only with Redis configured: 7 MiB otherwise

            self._redis, self._loop = Redis.from_url(self.url), loop
        return self._redis

    async def hit(self, key_pk: uuid.UUID, now: float) -> tuple[int, int]:
        start, end = _window(now)
        name = f"{self.prefix}ratelimit:{key_pk}:{start}"
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expireat(name, end + 60)
            count, _ = await pipe.execute()
        return int(count), end

    async def aclose(self) -> None:
        if self._redis is not None and self._loop is asyncio.get_running_loop():
            await self._redis.aclose()
        self._redis = self._loop = None


class RateLimit:
    """ASGI wrapper around one surface: counts each request of a known key, answers 429 in
    the surface's format (with Retry-After) past the limit, and adds the headers to every
    response of a limited key."""

    def __init__(
        self,
        app: ASGIApp,
        counter: Counter,
        render_error: RenderError,
    ) -> None:
        self.app = app
        self.counter = counter
        self.render_error = render_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller = scope.get(SCOPE_AUTH)
        limit = limit_of(caller)
        if limit is None:  # no valid key (its 401 comes), or an unlimited plan
            await self.app(scope, receive, send)
            return
        assert isinstance(caller, Authenticated)
        now = utcnow().timestamp()
        try:
            count, reset_at = await self.counter.hit(caller.key.id, now)
        except Exception:  # the counter store is down: serve rather than refuse everyone
            log.warning("rate-limit counter unavailable; request not counted", exc_info=True)
            await self.app(scope, receive, send)
            return
        usage = Usage(count=count, limit=limit, reset_at=reset_at)
        headers = usage.headers(now)
        if not usage.allowed:
            retry_after = str(max(1, reset_at - int(now)))
            response = self.render_error(
                429,
                "rate_limited",
                f"this API key may make {limit} requests per hour; retry in {retry_after} seconds",
                dict([*headers, ("Retry-After", retry_after)]),
            )
            await response(scope, receive, send)
            return
        encoded = [(name.lower().encode(), value.encode()) for name, value in headers]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *encoded]}
            await send(message)

        await self.app(scope, receive, with_headers)


def limit_of(caller: object) -> int | None:
    """The hourly request limit of the caller's plan; None for no caller, or no limit."""
    return hourly_request_limit(caller.account) if isinstance(caller, Authenticated) else None


def counter_for(redis_url: str, prefix: str) -> Counter:
    return RedisCounter(redis_url, prefix) if redis_url else MemoryCounter()
