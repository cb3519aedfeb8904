"""The AlgaPSA time-entries API, /api/v1/time-entries, as its own ASGI app: its own OpenAPI
document (/api/v1/time-entries/openapi.json, explorer at /docs) and error format."""

from __future__ import annotations

from fastapi import FastAPI

from timeledger import __version__
from timeledger.server.surfaces import errorkit
from timeledger.server.surfaces.algapsa import errors, routes, wire

PREFIX = "/api/v1/time-entries"


def create_algapsa_app() -> FastAPI:
    app = FastAPI(
        title="timeledger: AlgaPSA time entries API",
        version=__version__,
        description=(
            "AlgaPSA-compatible time entries. Authenticate with `X-API-Key: <key>` (or "
            "`Authorization: Bearer <key>`). Errors are "
            '`{"error": {"code": "VALIDATION_ERROR", "message": "...", "details": [...]}}`.'
            "\n\n" + (wire.__doc__ or "")
        ),
        redirect_slashes=False,
        responses=errors.ERROR_RESPONSES,
    )
    errorkit.install(app, errors.STYLE)
    app.include_router(routes.router)
    errorkit.declare_keys(app)
    return app
