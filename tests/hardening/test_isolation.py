"""Tenant isolation on every operation of every mounted surface, found by walking the app's
route table (surfacekit.operations), so a route added later is walked too, and a route the
walk cannot build a case for (an id it cannot name a table for, an operation missing from
its surface's OpenAPI document, a mount no Surface describes) fails with what to add.

Account A ("acme") and account B ("globex") each get one row of every table. B then calls
every operation:
- with A's ids in the path (all of them, and mixed with its own for nested routes): the
  surface's not-found, in its error format;
- with its own path and A's ids in the body: refused (400/404), in its error format;
- with A's ids in the query (filters): refused, or answered without A's data;
- otherwise with its own input: a success for reads (lists, reports), a success or an error
  in the surface's format for writes;
and no response ever shows A's data (its ids, beyond those B sent, or its names). At the
end, none of A's rows has changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from surfacekit import (
    ALGAPSA,
    CLOCKEYE,
    NATIVE,
    TEMPORALIST,
    Surface,
    answer_locally,
    fill,
    openapi,
    operations,
    path_params,
    seed,
    surface_app,
    surface_at,
)

from timeledger.server.db import Database
from timeledger.server.models import metadata


@pytest.fixture
def app(db: Database, tmp_path: Path) -> FastAPI:
    return surface_app(db, tmp_path / "receipts")


@pytest.fixture(autouse=True)
def _local_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    answer_locally(monkeypatch)


VICTIM, CALLER = "acme", "globex"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
# Valid values for fields an example cannot guess from the schema alone (query parameters
# named here are always sent: the document calls them optional, but some operations need them).
FIELD_EXAMPLES: dict[str, Any] = {
    "from": "2026-01-01",
    "to": "2026-01-31",
    "q": "seed",
    "email": f"new@{CALLER}.example",
    "url": "http://127.0.0.1:9/hook",
    "events": ["client.created"],
    "reason": "please fix",
}
# Bodies the document describes too loosely to make (items of any shape); `{table}` is the
# id of that table's seeded row, so the same template with A's ids is the foreign case.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    (NATIVE.name, "POST /time_entries/bulk"): {
        "time_entries": [
            {
                "project_id": "{projects}",
                "task_id": "{tasks}",
                "spent_date": "2026-01-06",
                "hours": 1,
            }
        ]
    },
    (NATIVE.name, "PATCH /time_entries/bulk"): {
        "time_entries": [{"id": "{time_entries}", "notes": "bulk"}]
    },
}
# Routes that must be among those walked (a check on the route discovery itself).
KNOWN = {
    (NATIVE.name, "GET /users/{id}"),
    (NATIVE.name, "DELETE /api_keys/{id}"),
    (NATIVE.name, "PATCH /contacts/{id}"),
    (NATIVE.name, "GET /clients"),
    (NATIVE.name, "POST /time_entries"),
    (NATIVE.name, "POST /projects/{project_id}/user_assignments"),
    (NATIVE.name, "GET /webhooks/{id}/deliveries/{delivery_id}"),
    (NATIVE.name, "POST /invoices/{id}/payments"),
    (TEMPORALIST.name, "PATCH /sessions/{id}/"),
    (TEMPORALIST.name, "GET /clients/"),
    (ALGAPSA.name, "PUT /{id}"),
    (ALGAPSA.name, "POST /stop-tracking/{sessionId}"),
    (CLOCKEYE.name, "GET /time-entries"),
}
# A key's use stamp (and with it the row's updated_at) may change on any request.
UNSTABLE = {("api_keys", "last_used_at"), ("api_keys", "updated_at")}


def rows_of(db: Database, account_id: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of one account (but UNSTABLE columns)."""
    result = {}
    with db.transaction(write=False) as session:
        for table in metadata.sorted_tables:
            owner = table.c.id if table.name == "accounts" else table.c.account_id
            columns = [c for c in table.columns if (table.name, c.name) not in UNSTABLE]
            rows = session.execute(
                select(*columns).where(owner == owner.type.python_type(account_id))
            )
            result[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return result


class Examples:
    """Valid request parts from an OpenAPI document; ids name the rows in `ids`."""

    def __init__(self, surface: Surface, document: dict[str, Any], path: str, ids: dict[str, str]):
        self.components = document.get("components", {}).get("schemas", {})
        self.surface, self.path, self.ids = surface, path, ids

    def table_for(self, name: str) -> str | None:
        return self.surface.table_for_field(name, self.path)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            return self.resolve(self.components[schema["$ref"].rsplit("/", 1)[-1]])
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            return self.resolve(next(s for s in options if s.get("type") != "null"))
        return schema

    def value(self, schema: dict[str, Any], name: str) -> Any:
        schema = self.resolve(schema)
        table = self.table_for(name)
        if table is not None:
            return [self.ids[table]] if name == "ids" else self.ids[table]
        if name in FIELD_EXAMPLES:
            return FIELD_EXAMPLES[name]
        if schema.get("type") == "object" or "properties" in schema:
            return self.body(schema)
        if schema.get("type") == "array":
            return [self.value(schema.get("items", {}), "")]
        if schema.get("format") == "binary" or "contentMediaType" in schema:
            return ("receipt.png", PNG, "image/png")
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        by_format = {"date": "2026-01-06", "date-time": "2026-01-06T10:00:00Z"}
        by_type = {"boolean": False, "integer": 1, "number": 1}
        return by_format.get(schema.get("format", ""), by_type.get(schema.get("type", ""), "x"))

    def body(self, schema: dict[str, Any], references: bool = False) -> dict[str, Any]:
        """The required fields, plus (with `references`) every field that names a row."""
        schema = self.resolve(schema)
        properties = schema.get("properties", {})
        names = set(schema.get("required", []))
        if references:
            names |= {n for n in properties if self.table_for(n) is not None}
        return {name: self.value(properties[name], name) for name in sorted(names)}

    def references(self, schema: dict[str, Any]) -> bool:
        properties = self.resolve(schema).get("properties", {})
        return any(self.table_for(name) for name in properties)


def request_parts(
    operation: dict[str, Any],
    examples: Examples,
    references: bool = False,
    template: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a request: the required query parameters (and with
    `references`, every filter by id), and a JSON or multipart body (`template` filled in,
    if given)."""
    query = {
        p["name"]: examples.value(p.get("schema", {}), p["name"])
        for p in operation.get("parameters", [])
        if p["in"] == "query"
        and (
            p.get("required")
            or p["name"] in FIELD_EXAMPLES
            or (references and examples.table_for(p["name"]))
        )
    }
    parts: dict[str, Any] = {"params": query} if query else {}
    content = operation.get("requestBody", {}).get("content", {})
    if template is not None:
        parts["json"] = fill(template, examples.ids)
    elif "application/json" in content:
        parts["json"] = examples.body(content["application/json"]["schema"], references)
    elif "multipart/form-data" in content:
        fields = examples.body(content["multipart/form-data"]["schema"])
        parts["files"] = {k: v for k, v in fields.items() if isinstance(v, tuple)}
        parts["data"] = {k: v for k, v in fields.items() if not isinstance(v, tuple)}
    else:
        assert not content, f"{examples.path}: cannot make a body of {sorted(content)}"
    return parts


def has_references(
    operation: dict[str, Any], examples: Examples, where: str, template: Any = None
) -> bool:
    if template is not None and where == "body":
        return "{" in str(template)
    if where == "query":
        return any(
            p["in"] == "query" and examples.table_for(p["name"])
            for p in operation.get("parameters", [])
        )
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return schema is not None and examples.references(schema)


def test_every_operation_of_every_surface_keeps_accounts_apart(
    app: FastAPI, db: Database, tenant: Any, other_tenant: Any
) -> None:
    theirs = seed(tenant.client, VICTIM)
    own = seed(other_tenant.client, CALLER)
    their_ids = {value for key, value in theirs.items() if key != "tag"}
    documents: dict[str, dict[str, Any]] = {}
    before = rows_of(db, tenant.account_id)

    def call(surface: Surface, method: str, url: str, **parts: Any) -> Any:
        response = other_tenant.client.request(
            method, surface.prefix + url, headers=surface.auth(other_tenant.token), **parts
        )
        sent = str((url, parts))
        leaked = {i for i in their_ids if i in response.text and i not in sent}
        assert not leaked, (method, url, "shows A's ids", leaked, response.text[:500])
        assert VICTIM not in response.text.lower(), (method, url, response.text[:500])
        return response

    walked: set[tuple[str, str]] = set()
    for surface, method, path in operations(app):
        name = f"{method} {path}"
        if name in surface.public:
            continue
        if surface.name not in documents:
            documents[surface.name] = openapi(other_tenant.client, surface)
        document = documents[surface.name]
        operation = document["paths"].get(path, {}).get(method.lower())
        assert operation is not None, f"{surface.name} {name} is not in its OpenAPI document"
        params = path_params(path)
        tables = [surface.table_of(path, p) for p in params]
        mine = Examples(surface, document, path, own)
        template = BODIES.get((surface.name, name))

        def url(ids: list[str], path: str = path, params: list[str] = params) -> str:
            for param, value in zip(params, ids, strict=True):
                path = path.replace("{" + param + "}", value)
            return path

        where = (surface.name, name)
        if params:
            variants = [[theirs[t] for t in tables]]
            if len(params) > 1:  # a foreign id under an own parent, an own id under a foreign one
                variants.append([*(own[t] for t in tables[:-1]), theirs[tables[-1]]])
                variants.append([*(theirs[t] for t in tables[:-1]), own[tables[-1]]])
            for ids in variants:
                parts = request_parts(operation, mine, template=template)
                response = call(surface, method, url(ids), **parts)
                assert response.status_code == surface.not_found, (*where, ids, response.text)
                surface.assert_error(response, surface.not_found)
        own_path = url([own[t] for t in tables])
        theirs_in_input = Examples(surface, document, path, theirs)
        if has_references(operation, mine, "body", template):
            parts = request_parts(operation, mine, template=template)
            foreign = request_parts(operation, theirs_in_input, True, template)["json"]
            parts["json"] = foreign if template else {**parts["json"], **foreign}
            response = call(surface, method, own_path, **parts)
            assert response.status_code in surface.refused_reference, (*where, response.text)
            surface.assert_error(response, response.status_code)
        if has_references(operation, mine, "query"):
            parts = request_parts(operation, mine)
            parts["params"] = request_parts(operation, theirs_in_input, references=True)["params"]
            response = call(surface, method, own_path, **parts)
            if not response.is_success:
                surface.assert_error(response, response.status_code)
        if not params:
            parts = request_parts(operation, mine, template=template)
            response = call(surface, method, own_path, **parts)
            if method == "GET":  # a list or report: must answer for the leak check to count
                assert response.is_success, (*where, response.text)
            elif not response.is_success:  # a write may refuse a made-up body, in its format
                surface.assert_error(response, response.status_code)
        walked.add((surface.name, name))

    assert walked >= KNOWN, KNOWN - walked
    assert rows_of(db, tenant.account_id) == before  # nothing of A's changed
    # Control: A's own ids do reach A's rows.
    assert tenant.client.get(f"{NATIVE.prefix}/clients/{theirs['clients']}").status_code == 200


def test_a_route_the_walk_cannot_build_a_case_for_fails_it() -> None:
    with pytest.raises(AssertionError, match="add 'gizmos' to its segment_tables"):
        NATIVE.table_of("/gizmos/{id}", "id")
    with pytest.raises(AssertionError, match="field gizmo_id names gizmos"):
        NATIVE.table_for_field("gizmo_id", "/time_entries")
    with pytest.raises(AssertionError, match="no Surface in SURFACES describes it"):
        surface_at("/api/v9")
