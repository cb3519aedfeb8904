"""The native API, /api/v2 (Keito/Harvest v2 shape), as its own ASGI app so its OpenAPI
document, docs page and error format are its own."""

from __future__ import annotations

from fastapi import FastAPI

from timeledger import __version__
from timeledger.server.surfaces.native import accounts, catalog, errors, time_entries

PREFIX = "/api/v2"


API_VERSION_HEADER = (b"x-keito-api-version", b"2")


def create_native_app() -> FastAPI:
    app = FastAPI(
        title="timeledger API v2",
        version=__version__,
        description=(
            "The native timeledger API, wire-compatible with Keito/Harvest v2. Authenticate "
            "with `Authorization: Bearer <key>` (or `X-API-Key`). Errors are "
            '`{"error": "<code>", "error_description": "<sentence>"}`.'
        ),
        redirect_slashes=False,
    )
    errors.install(app)
    app.include_router(accounts.router)
    app.include_router(catalog.router)
    app.include_router(time_entries.router)

    return app
