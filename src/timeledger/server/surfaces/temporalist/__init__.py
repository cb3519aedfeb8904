"""The Temporal.ist public API, /api/v1 (`reference/temporalist-api-v1.md`), as its own ASGI
app so its OpenAPI document, explorer and error format are its own. AlgaPSA's
/api/v1/time-entries is mounted in front of it (server/app.py)."""

from __future__ import annotations

from fastapi import FastAPI

from timeledger import __version__
from timeledger.server.surfaces.temporalist import (
    clients,
    errors,
    identity,
    invoices,
    projects,
    schema,
    sessions,
    webhooks,
)

PREFIX = "/api/v1"


def create_temporalist_app() -> FastAPI:
    app = FastAPI(
        title="Temporal.ist API v1 (timeledger)",
        version=__version__,
        description=(
            "Temporal.ist's public API, served by timeledger over the same data as /api/v2. "
            "Authenticate with `Authorization: Bearer <key>`. Errors are "
            '`{"detail": "<sentence>"}`, or for validation (400) an object keyed by field name.'
        ),
        redirect_slashes=False,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    for module in (identity, projects, sessions, clients, invoices, webhooks):
        app.include_router(module.router)
    app.include_router(schema.router(app, PREFIX))
    return app
