"""The layers every API surface is mounted behind, outermost first:

1. Authentication: finds the caller once (accounts/credentials.py) for every layer inside.
   A request that needs nothing else of the layers but admission (no body, no
   Idempotency-Key, no rate limit: every GET of an unlimited plan) goes from here straight
   to the surface: each layer would only pass it on, and together they cost about 8% of
   /users/me (measured in process).
2. RateLimit: counts the request against its API key's hourly quota (429 past it) and adds
   the RateLimit headers to the response, whatever answers it.
3. BodySizeLimit and JsonDepthLimit: 413 / 400 while the body streams in.
4. ConcurrencyLimit: admission, shared by all surfaces (they share threads and connections).
5. Idempotency: Idempotency-Key on POST/PATCH/DELETE.

One `Protection` per server holds the shared state (known keys, counters, admission);
`wrap` puts a surface behind it, answering in that surface's error format."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from timeledger.server.accounts.credentials import Credentials
from timeledger.server.config import Settings
from timeledger.server.db import Database
from timeledger.server.limits import (
    Admission,
    BodySizeLimit,
    ConcurrencyLimit,
    JsonDepthLimit,
    PathLimit,
    has_body,
)
from timeledger.server.protection import idempotency
from timeledger.server.protection.authentication import Authentication
from timeledger.server.protection.idempotency import Idempotency
from timeledger.server.protection.ratelimit import RateLimit, counter_for, limit_of
from timeledger.server.protection.render import RenderError


class Protection:
    def __init__(self, settings: Settings, database: Database) -> None:
        self.database = database
        self.credentials = Credentials(database)
        self.counter = counter_for(settings.redis_url, settings.redis_prefix)
        self.admission = Admission(settings.max_concurrency)

    def wrap(
        self,
        app: ASGIApp,
        surface: str,
        render_error: RenderError,
        body_limits: Sequence[PathLimit] = (),
    ) -> ASGIApp:
        """`app` behind every layer; `surface` names it in its callers' actors."""
        layered: ASGIApp = Idempotency(app, self.database, render_error)
        layered = ConcurrencyLimit(layered, self.admission)
        layered = JsonDepthLimit(layered)
        layered = BodySizeLimit(layered, path_limits=body_limits, render_error=render_error)
        layered = RateLimit(layered, self.counter, render_error)
        direct = ConcurrencyLimit(app, self.admission)
        return _Guarded(direct, layered, Authentication(self.credentials, surface))

    async def aclose(self) -> None:
        await self.counter.aclose()


class _Guarded:
    """Authentication, then `app` (the surface under admission) or every layer."""

    def __init__(self, app: ASGIApp, layered: ASGIApp, authentication: Authentication) -> None:
        self.app = app
        self.layered = layered
        self.authentication = authentication

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            caller = await self.authentication.identify(scope)
            needs_layers = has_body(scope) or idempotency.requested(scope)
            if not needs_layers and limit_of(caller) is None:
                await self.app(scope, receive, send)
                return
        await self.layered(scope, receive, send)
