"""The layers every API surface is mounted behind, outermost first:

1. Authentication: finds the caller once (accounts/credentials.py) for every layer inside.
2. RateLimit: counts the request against its API key's hourly quota (429 past it) and adds
   the RateLimit headers to the response, whatever answers it.
3. BodySizeLimit and JsonDepthLimit: 413 / 400 while the body streams in.
4. ConcurrencyLimit: admission, shared by all surfaces (they share threads and connections).
5. Idempotency: Idempotency-Key on POST/PATCH/DELETE.

One `Protection` per server holds the shared state (known keys, counters, admission);
`wrap` puts a surface behind it, answering in that surface's error format."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp

from timeledger.server.accounts.credentials import Credentials
from timeledger.server.config import Settings
from timeledger.server.db import Database
from timeledger.server.limits import (
    Admission,
    BodySizeLimit,
    ConcurrencyLimit,
    JsonDepthLimit,
    PathLimit,
)
from timeledger.server.protection.authentication import Authentication
from timeledger.server.protection.idempotency import Idempotency
from timeledger.server.protection.ratelimit import RateLimit, counter_for
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
        guarded: ASGIApp = Idempotency(app, self.database, render_error)
        guarded = ConcurrencyLimit(guarded, self.admission)
        guarded = JsonDepthLimit(guarded)
        guarded = BodySizeLimit(guarded, path_limits=body_limits, render_error=render_error)
        guarded = RateLimit(guarded, self.counter, render_error)
        return Authentication(guarded, self.credentials, surface)

    async def aclose(self) -> None:
        await self.counter.aclose()
