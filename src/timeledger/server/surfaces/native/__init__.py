"""The native API, /api/v2 (Keito/Harvest v2 shape), as its own ASGI app so its OpenAPI
document, docs page and error format are its own."""

from __future__ import annotations

import re

from fastapi import FastAPI

from timeledger import __version__
from timeledger.server.expenses.receipts import MAX_RECEIPT_BYTES
from timeledger.server.limits import PathLimit
from timeledger.server.surfaces.errorkit import declare_keys
from timeledger.server.surfaces.native import (
    accounts,
    audit_log,
    catalog,
    errors,
    expenses,
    invoice_messages,
    invoices,
    outcomes,
    reports,
    time_entries,
    webhooks,
)

PREFIX = "/api/v2"

# Receipt uploads may be up to 10 MB, plus room for the multipart framing.
BODY_LIMITS = (
    PathLimit(
        re.compile(rf"^{PREFIX}/expenses/[^/]+/receipt$"),
        MAX_RECEIPT_BYTES + 64 * 1024,
        f"receipt is larger than {MAX_RECEIPT_BYTES // (1024 * 1024)} MB",
    ),
)


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
        responses=errors.ERROR_RESPONSES,
    )
    errors.install(app)
    app.include_router(accounts.router)
    app.include_router(catalog.router)
    # Before time entries: /time_entries/stats|search|export are not entry ids.
    app.include_router(reports.router)
    app.include_router(time_entries.router)
    app.include_router(expenses.router)
    app.include_router(outcomes.router)
    app.include_router(invoices.router)
    app.include_router(invoice_messages.router)
    app.include_router(webhooks.router)
    app.include_router(audit_log.router)
    declare_keys(app)
    return app
