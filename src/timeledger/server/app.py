"""The server: every API surface mounted over one database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from timeledger import __version__
from timeledger.server import background
from timeledger.server.config import Settings
from timeledger.server.db import Database
from timeledger.server.limits import ResponseHeaders
from timeledger.server.protection.stack import Protection
from timeledger.server.surfaces import algapsa, clockeye
from timeledger.server.surfaces.algapsa.deps import SURFACE as ALGAPSA_SURFACE
from timeledger.server.surfaces.algapsa.errors import render_error as algapsa_error
from timeledger.server.surfaces.clockeye.deps import SURFACE as CLOCKEYE_SURFACE
from timeledger.server.surfaces.clockeye.errors import render_error as clockeye_error
from timeledger.server.surfaces.http import handler_limiter
from timeledger.server.surfaces.native import API_VERSION_HEADER, create_native_app
from timeledger.server.surfaces.native import BODY_LIMITS as NATIVE_BODY_LIMITS
from timeledger.server.surfaces.native import PREFIX as NATIVE_PREFIX
from timeledger.server.surfaces.native.deps import SURFACE as NATIVE_SURFACE
from timeledger.server.surfaces.native.errors import render_error as native_error
from timeledger.server.surfaces.temporalist import PREFIX as TEMPORALIST_PREFIX
from timeledger.server.surfaces.temporalist import create_temporalist_app
from timeledger.server.surfaces.temporalist.deps import SURFACE as TEMPORALIST_SURFACE
from timeledger.server.surfaces.temporalist.errors import render_error as temporalist_error
from timeledger.server.worker.dispatcher import InProcessDispatcher

THREAD_HEADROOM = 16


class SurfaceMount(Mount):
    """Where a surface is mounted. Unlike Starlette's Mount it takes a path with a newline (an
    id such as `a%0Ab`: Starlette's `.*` stops at it, and the server's own 404 answered instead
    of the surface's) and its bare prefix (AlgaPSA lists and creates entries at
    /api/v1/time-entries itself, which a plain Mount only matches with a trailing slash)."""

    def __init__(self, path: str, app: ASGIApp) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"] == self.path:
            scope = {**scope, "path": self.path + "/", "raw_path": (self.path + "/").encode()}
            match, child = super().matches(scope)
            return match, {**child, "path": scope["path"], "raw_path": scope["raw_path"]}
        return super().matches(scope)


class ServerApp(FastAPI):
    """The server's app. A request under a surface's prefix goes straight to that surface's
    mount: the server's own middleware (error pages, telemetry, exception handlers) is there
    for its few routes of its own, and would otherwise run again around each surface's, which
    has the same layers (about 15% of /users/me, measured in process)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.router.routes:
                if isinstance(route, SurfaceMount):
                    match, child = route.matches(scope)
                    if match is Match.FULL:
                        scope.update(child)
                        await route.handle(scope, receive, send)
                        return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    database = database or Database(settings)
    protection = Protection(settings, database)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Opening and committing transactions (and background work) run on this many
        # threads; the pool is sized to match. More threads than admitted requests: a request
        # holding SQLite's write lock must always find a thread to finish on, even when every
        # other admitted request (and a background job) is blocked waiting for that lock.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.max_concurrency + THREAD_HEADROOM
        # The handlers themselves have a limit of their own (surfaces/http.py).
        handler_limiter().total_tokens = settings.handler_threads
        jobs = None
        if settings.background_interval > 0:
            jobs = asyncio.create_task(
                background.run_forever(database, settings.background_interval)
            )
        dispatcher = InProcessDispatcher.start(database, settings)
        yield
        if jobs is not None:
            jobs.cancel()
        await anyio.to_thread.run_sync(dispatcher.stop)
        await protection.aclose()
        database.dispose()

    app = ServerApp(
        title="timeledger",
        version=__version__,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.database = database

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        if database.ping():
            return JSONResponse({"status": "ready", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)

    native = create_native_app()
    native.state.database = database
    native.state.settings = settings
    # Every surface is mounted behind the same protection, answering in its own format.
    native_app = ResponseHeaders(native, [API_VERSION_HEADER])
    mounts = app.router.routes
    mounts.append(
        SurfaceMount(
            NATIVE_PREFIX,
            protection.wrap(native_app, NATIVE_SURFACE, native_error, NATIVE_BODY_LIMITS),
        )
    )
    # AlgaPSA's /api/v1/time-entries, the bare prefix included (its list and create route).
    alga = algapsa.create_algapsa_app()
    alga.state.database = database
    alga.state.settings = settings
    mounts.append(
        SurfaceMount(algapsa.PREFIX, protection.wrap(alga, ALGAPSA_SURFACE, algapsa_error))
    )
    # Temporal.ist owns the rest of /api/v1: mounted after AlgaPSA's /api/v1/time-entries.
    temporalist = create_temporalist_app()
    temporalist.state.database = database
    temporalist.state.settings = settings
    mounts.append(
        SurfaceMount(
            TEMPORALIST_PREFIX, protection.wrap(temporalist, TEMPORALIST_SURFACE, temporalist_error)
        )
    )
    # ClockEye takes whatever else is under /api, so it is mounted last.
    clock_eye = clockeye.create_clockeye_app()
    clock_eye.state.database = database
    clock_eye.state.settings = settings
    mounts.append(
        SurfaceMount(clockeye.PREFIX, protection.wrap(clock_eye, CLOCKEYE_SURFACE, clockeye_error))
    )
    return app
