"""The ClockEye API, /api, as its own ASGI app: its own OpenAPI document (/api/openapi.json,
explorer at /api/docs) and error format. Mounted last, so /api/v2 and /api/v1 go to their
own surfaces first."""

from __future__ import annotations

from fastapi import FastAPI

from timeledger import __version__
from timeledger.server.surfaces import errorkit
from timeledger.server.surfaces.clockeye import errors, routes

PREFIX = "/api"


def create_clockeye_app() -> FastAPI:
    app = FastAPI(
        title="timeledger: ClockEye API",
        version=__version__,
        description=(
            "ClockEye-compatible API. Authenticate with `X-API-Key: <key>` or "
            "`Authorization: Bearer <key>`. Errors are "
            '`{"error": "<message>", "code": "MACHINE_READABLE_CODE", "details": {}}`. '
            "Timers are the same running timers as every other API's: one per user."
        ),
        redirect_slashes=False,
        responses=errors.ERROR_RESPONSES,
    )
    errorkit.install(app, errors.STYLE)
    app.include_router(routes.router)
    errorkit.declare_keys(app)
    return app
