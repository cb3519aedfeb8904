"""Tenant isolation, checked on every route of the mounted /api/v2 app that takes an id in its
path, found by walking the app's routes (so a route added later is walked too): with ids of
another account's rows, every method answers 404 (never 200, never 403) and changes nothing."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from v2kit import V2, api_routes, assert_error, fill, native_app

from timeledger.server.models import metadata

# One row of every table a path can name, made through the API in this order. `{table}` is
# the id of the row seeded for that table, `{domain}` keeps emails apart per tenant.
SEED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("clients", "clients", {"name": "Seed client"}),
    ("contacts", "contacts", {"client_id": "{clients}", "first_name": "Seed"}),
    ("projects", "projects", {"name": "Seed project", "client_id": "{clients}"}),
    ("tasks", "tasks", {"name": "Seed task"}),
    ("task_assignments", "projects/{projects}/task_assignments", {"task_id": "{tasks}"}),
    ("users", "users", {"email": "seed@{domain}"}),
    ("user_assignments", "projects/{projects}/user_assignments", {"user_id": "{users}"}),
    ("api_keys", "api_keys", {"name": "seed", "user_id": "{users}"}),
    (
        "time_entries",
        "time_entries",
        {"project_id": "{projects}", "task_id": "{tasks}", "spent_date": "2026-01-05", "hours": 1},
    ),
    (
        "time_entry_templates",
        "time_entry_templates",
        {"name": "Seed", "project_id": "{projects}", "task_id": "{tasks}"},
    ),
    ("expense_categories", "expense_categories", {"name": "Seed category"}),
    (
        "expenses",
        "expenses",
        {
            "project_id": "{projects}",
            "expense_category_id": "{expense_categories}",
            "spent_date": "2026-01-05",
            "total_cost": 10,
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
        {"url": "http://127.0.0.1:9/hook", "events": ["client.created"]},
    ),
    ("webhook_deliveries", "webhooks/{webhook_subscriptions}/ping", None),
]
# Path segments in front of an id that are not the name of the id's table.
SEGMENT_TABLE = {
    "from_template": "time_entry_templates",
    "webhooks": "webhook_subscriptions",
    "deliveries": "webhook_deliveries",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
# Routes that must be among those walked (a sanity check on the route discovery itself).
KNOWN = {
    "GET /users/{id}",
    "PATCH /users/{id}",
    "DELETE /users/{id}",
    "GET /api_keys/{id}",
    "DELETE /api_keys/{id}",
    "GET /clients/{id}",
    "PATCH /contacts/{id}",
    "DELETE /projects/{id}",
    "PATCH /tasks/{id}",
    "GET /projects/{project_id}/task_assignments",
    "POST /projects/{project_id}/task_assignments",
    "DELETE /projects/{project_id}/task_assignments/{id}",
    "POST /projects/{project_id}/user_assignments",
    "PATCH /projects/{project_id}/user_assignments/{id}",
}


def table_of(path: str, param: str) -> str:
    segments = path.split("/")
    segment = segments[segments.index("{" + param + "}") - 1]
    table = SEGMENT_TABLE.get(segment, segment)
    assert table in metadata.tables, (
        f"{path}: cannot tell which table {{{param}}} names; add '{segment}' to SEGMENT_TABLE"
    )
    assert table in {t for t, _, _ in SEED}, f"{path}: add a row of {table} to SEED"
    return table


def seed(client: Any, domain: str) -> dict[str, str]:
    ids: dict[str, str] = {"domain": domain}
    for table, path, body in SEED:
        kwargs = {} if body is None else {"json": fill(body, ids)}
        response = client.post(f"{V2}/{fill(path, ids)}", **kwargs)
        assert response.is_success, (table, response.text)
        ids[table] = response.json()["id"]
    return ids


def table_for_field(name: str) -> str:
    """`client_id` -> clients, `expense_category_id` -> expense_categories."""
    stem = name.removesuffix("_id")
    return stem[:-1] + "ies" if stem.endswith("y") else stem + "s"


def example(schema: dict[str, Any], spec: dict[str, Any], own: dict[str, str], name: str) -> Any:
    """A valid value for a JSON schema; ids in bodies name the caller's own rows, so the
    only foreign thing in a request is its path."""
    if "anyOf" in schema:
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "object" or "properties" in schema:
        return {
            field: example(schema["properties"][field], spec, own, field)
            for field in schema.get("required", [])
        }
    if name.endswith("_id"):
        table = table_for_field(name)
        assert table in own, f"no seeded {table} for a body field {name}"
        return own[table]
    if schema.get("format") == "binary" or "contentMediaType" in schema:
        return ("receipt.png", PNG, "image/png")
    if "enum" in schema:
        return schema["enum"][0]
    return {
        "date": "2026-01-06",
        "date-time": "2026-01-06T10:00:00Z",
        "email": "someone@example.com",
    }.get(
        schema.get("format", ""),
        {"boolean": False, "integer": 1, "number": 1}.get(schema.get("type", ""), "x"),
    )


def request_body(operation: dict[str, Any], spec: dict[str, Any], own: dict[str, str]) -> dict:
    """Keyword arguments for a valid body of this operation (JSON or multipart)."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return {"json": example(content["application/json"]["schema"], spec, own, "")}
    if "multipart/form-data" in content:
        fields = example(content["multipart/form-data"]["schema"], spec, own, "")
        files = {k: v for k, v in fields.items() if isinstance(v, tuple)}
        data = {k: v for k, v in fields.items() if k not in files}
        return {"files": files, "data": data}
    assert not content, f"cannot make a body of {sorted(content)}"
    return {}


def test_every_route_with_an_id_hides_other_accounts(app, tenant, other_tenant, state):
    native = native_app(app)
    # Webhooks to a local address, so the seeded subscriptions need no DNS.
    native.state.settings = replace(
        native.state.settings, webhooks_allow_http=True, webhooks_allow_private=True
    )
    spec = native.openapi()
    own = seed(tenant.client, "acme.example")
    theirs = seed(other_tenant.client, "globex.example")
    before = state()

    walked: set[str] = set()
    for path, route in api_routes(native.routes):
        params = re.findall(r"{(\w+)(?::\w+)?}", path)
        if not params:
            continue
        tables = [table_of(path, p) for p in params]
        # All ids foreign; and for nested routes, a foreign id under an own parent and an
        # own id under a foreign parent.
        variants = [[theirs[t] for t in tables]]
        if len(params) > 1:
            variants.append([*(own[t] for t in tables[:-1]), theirs[tables[-1]]])
            variants.append([*(theirs[t] for t in tables[:-1]), own[tables[-1]]])
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            operation = spec["paths"].get(path, {}).get(method.lower(), {})
            body = request_body(operation, spec, own)
            for values in variants:
                url = path
                for param, value in zip(params, values, strict=True):
                    url = url.replace("{" + param + "}", value)
                response = tenant.client.request(method, f"{V2}{url}", **body)
                context = f"{method} {path} with {dict(zip(params, values, strict=True))}"
                assert response.status_code == 404, (context, body, response.text)
                assert_error(response, 404, "not found")
            walked.add(f"{method} {path}")

    assert walked >= KNOWN, KNOWN - walked
    assert state() == before  # neither account changed
    # Control: the same requests with the caller's own ids do reach the rows.
    assert tenant.client.get(f"{V2}/clients/{own['clients']}").status_code == 200
    assert other_tenant.client.get(f"{V2}/clients/{theirs['clients']}").status_code == 200
