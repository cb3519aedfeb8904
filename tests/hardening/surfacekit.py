"""Every API surface the server mounts, as data the hardening tests walk: where it is mounted,
where it serves its OpenAPI document, how a caller sends a key, what its errors look like and
which table an id in a path names. A surface added to app.py without an entry here fails
`test_every_mounted_surface_is_listed`.

Rows are seeded through /api/v2 (the superset): every surface reads the same rows."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from timeledger.server.app import create_app
from timeledger.server.db import Database
from timeledger.server.models import metadata

Response = Any  # an httpx.Response or a requests.Response: both have .status_code/.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_key(token: str) -> dict[str, str]:
    return {"X-API-Key": token}


def _assert_status(response: Response, status: int) -> Any:
    assert response.status_code == status, (status, response.text)
    return response.json()


def native_error(response: Response, status: int) -> dict[str, Any]:
    """`{"error": "<code>", "error_description": "<sentence>"}` (+ `errors` for batches)."""
    body: dict[str, Any] = _assert_status(response, status)
    assert {"error", "error_description"} <= set(body) <= {"error", "error_description", "errors"}
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["error_description"], str) and body["error_description"], body
    return body


def temporalist_error(response: Response, status: int) -> dict[str, Any]:
    """`{"detail": "<sentence>"}`, or for validation (400) `{"<field>": ["<why>", ...]}`."""
    body: dict[str, Any] = _assert_status(response, status)
    if set(body) == {"detail"}:
        assert isinstance(body["detail"], str) and body["detail"], body
    else:
        assert status == 400 and body, body
        assert all(isinstance(v, list) and v for v in body.values()), body
    return body


def algapsa_error(response: Response, status: int) -> dict[str, Any]:
    """`{"error": {"code": "<CODE>", "message": "<sentence>", "details": [...]}}`."""
    body: dict[str, Any] = _assert_status(response, status)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}, body
    assert isinstance(error["code"], str) and isinstance(error["message"], str), body
    return body


def clockeye_error(response: Response, status: int) -> dict[str, Any]:
    """`{"error": "<sentence>", "code": "<CODE>", "details": {...}}`."""
    body: dict[str, Any] = _assert_status(response, status)
    assert set(body) == {"error", "code", "details"}, body
    assert isinstance(body["error"], str) and isinstance(body["code"], str), body
    assert isinstance(body["details"], dict), body
    return body


@dataclass(frozen=True)
class Surface:
    name: str
    prefix: str  # where create_app mounts it
    openapi_url: str  # where the running app serves its OpenAPI document
    auth: Callable[[str], dict[str, str]]  # the headers that carry an API key
    assert_error: Callable[[Response, int], Any]  # an error response in its own format
    not_found: int = 404  # what another account's id in a path gets
    refused_reference: frozenset[int] = frozenset({400, 404})  # ... in a body
    # Path segments in front of an id that are not the name of the id's table.
    segment_tables: Mapping[str, str] = field(default_factory=dict)
    # Request fields (body or query) whose name does not say which table they name (`None`:
    # no row at all); otherwise `client_id` names clients and `ids` the path's resource.
    field_tables: Mapping[str, str | None] = field(default_factory=dict)
    # Operations (METHOD path) with no account data in or out (health checks, documents).
    public: frozenset[str] = frozenset()

    def table_of(self, path: str, param: str) -> str:
        """The table whose id fills `{param}` in `path` (a route with an id of a table this
        cannot tell fails the walk, naming what to add)."""
        segments = path.split("/")
        segment = segments[segments.index("{" + param + "}") - 1]
        table = self.segment_tables.get(segment, segment)
        assert table in metadata.tables, (
            f"{self.name} {path}: cannot tell which table {{{param}}} names; "
            f"add '{segment}' to its segment_tables"
        )
        assert table in SEEDED, f"{self.name} {path}: add a row of {table} to SEED"
        return table

    def table_for_field(self, name: str, path: str) -> str | None:
        """The table a request field names a row of, or None: `client_id` -> clients,
        `expense_category_id` -> expense_categories, `ids` -> the path's resource."""
        if name in self.field_tables:
            return self.field_tables[name]
        if name == "ids":
            resource = path.strip("/").split("/")[0]
            table = self.segment_tables.get(resource, resource)
        elif name.endswith("_id"):
            stem = name.removesuffix("_id")
            consonant_y = stem.endswith("y") and stem[-2:-1] not in "aeiou"
            table = stem[:-1] + "ies" if consonant_y else stem + "s"
        else:
            return None
        assert table in SEEDED, (
            f"{self.name} {path}: field {name} names {table}, which SEED has no row of; "
            "add one, or the field to the surface's field_tables"
        )
        return table


FASTAPI_DOCS = frozenset(
    {"GET /openapi.json", "GET /docs", "GET /docs/oauth2-redirect", "GET /redoc"}
)
NATIVE = Surface(
    name="native",
    prefix="/api/v2",
    openapi_url="/api/v2/openapi.json",
    auth=bearer,
    assert_error=native_error,
    segment_tables={
        "from_template": "time_entry_templates",
        "webhooks": "webhook_subscriptions",
        "deliveries": "webhook_deliveries",
        "payments": "invoice_payments",
    },
    field_tables={"object_id": "clients", "external_id": None},
    public=FASTAPI_DOCS,
)
TEMPORALIST = Surface(
    name="temporalist",
    prefix="/api/v1",
    openapi_url="/api/v1/openapi.json?format=json",
    auth=bearer,
    assert_error=temporalist_error,
    segment_tables={"sessions": "time_entries", "webhooks": "webhook_subscriptions"},
    public=frozenset({"GET /openapi.json", "GET /docs/"}),
)
ALGAPSA = Surface(
    name="algapsa",
    prefix="/api/v1/time-entries",
    openapi_url="/api/v1/time-entries/openapi.json",
    auth=api_key,
    assert_error=algapsa_error,
    # Paths are relative to the mount: /{id} is a time entry.
    segment_tables={"": "time_entries", "stop-tracking": "time_entries"},
    field_tables={"work_item_id": None},  # a reference to work elsewhere, not a row
    public=FASTAPI_DOCS,
)
CLOCKEYE = Surface(
    name="clockeye",
    prefix="/api",
    openapi_url="/api/openapi.json",
    auth=api_key,
    assert_error=clockeye_error,
    public=FASTAPI_DOCS,
)

SURFACES = [NATIVE, TEMPORALIST, ALGAPSA, CLOCKEYE]
# Routes of the server itself, outside every surface: they show no account's data.
SERVER_ROUTES = {"/healthz", "/readyz"}


# One row of every table a path can name, made through /api/v2 in this order. `{table}` is
# the id of the row seeded for that table; `{tag}` marks the tenant's names and emails, so
# its data is recognisable wherever it shows up.
SEED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("clients", "clients", {"name": "Seed client {tag}"}),
    ("contacts", "contacts", {"client_id": "{clients}", "first_name": "Seed {tag}"}),
    ("projects", "projects", {"name": "Seed project {tag}", "client_id": "{clients}"}),
    ("tasks", "tasks", {"name": "Seed task {tag}"}),
    ("task_assignments", "projects/{projects}/task_assignments", {"task_id": "{tasks}"}),
    ("users", "users", {"email": "seed@{tag}.example", "first_name": "Seed {tag}"}),
    ("user_assignments", "projects/{projects}/user_assignments", {"user_id": "{users}"}),
    ("api_keys", "api_keys", {"name": "seed {tag}", "user_id": "{users}"}),
    (
        "time_entries",
        "time_entries",
        {
            "project_id": "{projects}",
            "task_id": "{tasks}",
            "spent_date": "2026-01-05",
            "hours": 1,
            "notes": "Seed {tag}",
        },
    ),
    (
        "time_entry_templates",
        "time_entry_templates",
        {"name": "Seed {tag}", "project_id": "{projects}", "task_id": "{tasks}"},
    ),
    ("expense_categories", "expense_categories", {"name": "Seed category {tag}"}),
    (
        "expenses",
        "expenses",
        {
            "project_id": "{projects}",
            "expense_category_id": "{expense_categories}",
            "spent_date": "2026-01-05",
            "total_cost": 10,
            "notes": "Seed {tag}",
        },
    ),
    (
        "outcomes",
        "outcomes",
        {
            "project_id": "{projects}",
            "task_id": "{tasks}",
            "spent_date": "2026-01-05",
            "type": "ticket_resolved",
        },
    ),
    (
        "webhook_subscriptions",
        "webhooks",
        {"url": "http://127.0.0.1:9/{tag}", "events": ["client.created"]},
    ),
    ("webhook_deliveries", "webhooks/{webhook_subscriptions}/ping", None),
    (
        "invoices",
        "invoices",
        {
            "client_id": "{clients}",
            "subject": "Seed {tag}",
            "line_items": [{"description": "Seed {tag}", "quantity": 1, "unit_price": 100}],
        },
    ),
    (
        "invoice_messages",
        "invoices/{invoices}/messages",
        {"event_type": "send", "recipients": [{"name": "AP", "email": "ap@{tag}.example"}]},
    ),
    ("invoice_payments", "invoices/{invoices}/payments", {"amount": 10}),
]
SEEDED = {table for table, _, _ in SEED}


def fill(value: Any, ids: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def seed(client: TestClient, tag: str) -> dict[str, str]:
    """One row of every SEED table in the client's account: {table: id} (and {"tag": tag})."""
    ids: dict[str, str] = {"tag": tag}
    for table, path, body in SEED:
        kwargs = {} if body is None else {"json": fill(body, ids)}
        response = client.post(f"{NATIVE.prefix}/{fill(path, ids)}", **kwargs)
        assert response.is_success, (table, response.text)
        ids[table] = response.json()["id"]
    return ids


def openapi(client: TestClient, surface: Surface) -> dict[str, Any]:
    """The surface's OpenAPI document, as the running app serves it."""
    response = client.get(surface.openapi_url)
    assert response.status_code == 200, (surface.name, response.text)
    document: dict[str, Any] = response.json()
    return document


def unwrap(app: Any) -> Any:
    """The application under any ASGI middleware wrapped around a mount."""
    while not isinstance(app, FastAPI) and hasattr(app, "app"):
        app = app.app
    return app


def mounted(app: FastAPI) -> Iterator[tuple[str, Any]]:
    """(prefix, inner app) of every mount of the server."""
    for route in app.routes:
        if isinstance(route, Mount):
            yield route.path, unwrap(route.app)


def surface_at(prefix: str) -> Surface:
    listed = {surface.prefix: surface for surface in SURFACES}
    assert prefix in listed, f"the app mounts {prefix} but no Surface in SURFACES describes it"
    return listed[prefix]


def operations(app: FastAPI) -> Iterator[tuple[Surface, str, str]]:
    """(surface, METHOD, path within the surface) of every route of every mounted surface,
    from the app's route table (FastAPI's own docs routes included: they are routes too)."""
    outside = {path for path, _ in routes([r for r in app.routes if not isinstance(r, Mount)])}
    assert outside <= SERVER_ROUTES, f"routes outside every surface: {outside - SERVER_ROUTES}"
    for prefix, inner in mounted(app):
        surface = surface_at(prefix)
        for path, methods in routes(inner.routes):
            for method in sorted(methods - {"HEAD", "OPTIONS"}):
                yield surface, method, path


def routes(table: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    for route in table:
        if isinstance(route, APIRoute | Route):
            yield prefix + route.path, set(route.methods or ())
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers as such
            yield from routes(route.original_router.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            yield from routes(unwrap(route.app).routes, prefix + route.path)


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


def surface_app(db: Database, receipts: Path) -> FastAPI:
    """The real app, keeping receipts under `receipts` and letting webhooks target local
    addresses (the seeded subscriptions, and any URL a fuzzer makes up: see answer_locally)."""
    settings = dataclasses.replace(
        db.settings, receipts_dir=receipts, webhooks_allow_http=True, webhooks_allow_private=True
    )
    return create_app(settings, database=db)


def answer_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DNS that answers 127.0.0.1 for every name the real resolver would accept, so webhook
    URLs never lead off the machine."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str):
            host.encode("idna")  # what the real resolver refuses before asking anyone
        return real("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
