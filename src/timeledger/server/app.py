"""The server: every API surface mounted over one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from timeledger import __version__
from timeledger.server import background
from timeledger.server.config import Settings
from timeledger.server.db import Database
from timeledger.server.limits import BodySizeLimit, ConcurrencyLimit, ResponseHeaders
from timeledger.server.surfaces.native import API_VERSION_HEADER, create_native_app
from timeledger.server.surfaces.native import BODY_LIMITS as NATIVE_BODY_LIMITS
from timeledger.server.surfaces.native import PREFIX as NATIVE_PREFIX
from timeledger.server.worker.dispatcher import InProcessDispatcher

THREAD_HEADROOM = 16


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    database = database or Database(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Synchronous handlers run on this many threads; the pool is sized to match.
        # More threads than admitted requests: a request holding SQLite's write lock must
        # always find a thread to finish on, even when every other admitted request (and a
        # background job) is blocked waiting for that lock.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.max_concurrency + THREAD_HEADROOM
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
        database.dispose()

    app = FastAPI(
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
    app.mount(
        NATIVE_PREFIX,
        ConcurrencyLimit(ResponseHeaders(native, [API_VERSION_HEADER]), settings.max_concurrency),
    )
    app.add_middleware(BodySizeLimit, path_limits=NATIVE_BODY_LIMITS)
    return app
