"""Request limits on /api/v2: bodies up to 1 MiB (413, declared or chunked), JSON nested at
most 64 deep (400, never a RecursionError), bounded pages, strings, arrays, metadata and
report ranges, and server-owned fields a client sends are never stored. Every refusal is a
4xx in the surface's error format and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from timeledger.server.catalog.models import Client
from timeledger.server.db import Database
from timeledger.server.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from timeledger.server.surfaces.native import create_native_app

CLIENTS = "/api/v2/clients"
ENTRIES = "/api/v2/time_entries"


def clients(db: Database) -> int:
    with db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Client)) or 0)


def refused(response: Any, status: int, *mentions: str) -> None:
    """A refusal in the /api/v2 format naming what was wrong."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    for word in mentions:
        assert word in body["error_description"], (word, body)


# --- body size ---------------------------------------------------------------------------------


def test_a_body_over_1_mib_is_a_413(db, api):
    big = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    declared = api.post(CLIENTS, content=big, headers={"Content-Type": "application/json"})
    refused(declared, 413, str(MAX_BODY_BYTES))

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts as it streams
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * (64 * 1024)
        yield b'"}'

    chunked = api.post(CLIENTS, content=chunks(), headers={"Content-Type": "application/json"})
    refused(chunked, 413)
    with_key = api.post(
        CLIENTS,
        content=chunks(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "big"},
    )
    refused(with_key, 413)
    assert clients(db) == 0


# --- JSON nesting --------------------------------------------------------------------------------


@pytest.mark.parametrize("idempotency_key", [None, "deep"])
def test_ten_thousand_nested_arrays_are_a_400(db, api, idempotency_key):
    deep = b'{"name": "Deep", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    headers = {"Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    response = api.post(CLIENTS, content=deep, headers=headers)
    refused(response, 400, f"nested deeper than {MAX_JSON_DEPTH}")
    objects = b'{"metadata": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_000 + b"}"
    refused(api.post(ENTRIES, content=objects, headers=headers), 400, "nested")
    assert clients(db) == 0


def test_brackets_inside_strings_are_not_nesting(db, api):
    name = '[{"\\" ' * 40  # brackets, quotes and escapes inside the string
    made = api.post(CLIENTS, json={"name": name[:255].strip()})
    assert made.status_code == 201, made.text
    nested = {"a": [[["ok"]]]}
    for _ in range(MAX_JSON_DEPTH - 5):
        nested = {"a": nested}
    # Within the limit, the usual rules apply (here: the 4 KB metadata limit is fine).
    response = api.post(CLIENTS, json={"name": "Shallow enough", "x": nested})
    assert response.status_code == 201, response.text


# --- pages, strings, arrays, metadata, ranges --------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [("per_page=2001", "per_page"), ("per_page=0", "per_page"), ("page=0", "page")],
)
def test_pages_are_bounded(db, api, query, field):
    refused(api.get(f"{CLIENTS}?{query}"), 400, field)


def test_strings_are_bounded(db, api):
    refused(api.post(CLIENTS, json={"name": "n" * 256}), 400, "name")
    # An id field has no length of its own: the bound every string gets applies.
    huge_id = api.post("/api/v2/projects", json={"name": "P", "client_id": "c" * 6000})
    refused(huge_id, 400, "client_id")
    assert clients(db) == 0


def test_bulk_arrays_and_metadata_are_bounded(db, api):
    too_many = api.post(f"{ENTRIES}/bulk", json={"time_entries": [{}] * 501})
    assert too_many.status_code == 400, too_many.text
    fat = api.post(CLIENTS, json={"name": "Fat"})
    assert fat.status_code == 201
    entry = {"spent_date": "2026-01-05", "hours": 1, "metadata": {"blob": "x" * 5000}}
    refused(api.post(ENTRIES, json=entry), 400, "metadata")


def test_report_ranges_are_bounded(db, api):
    response = api.get("/api/v2/reports/time/clients?from=20000101&to=20260101")
    refused(response, 400, "to")


def test_every_body_string_and_array_is_bounded():
    """Walks the request bodies of the OpenAPI document: a string must have a maxLength (or be
    an enum, a format, or the text form of a bounded number), an array a maxItems, unless
    named below with where it is bounded instead."""
    bounded_elsewhere = {
        # The service refuses more than 500 items (tracking/bulk.py).
        "BulkCreate.time_entries",
        "BulkUpdate.time_entries",
        "BulkDelete.ids",
        # A file upload: the receipt path's body limit bounds it.
        "Body_attach_receipt_expenses__id__receipt_post.receipt",
    }
    document = create_native_app().openapi()
    schemas = document.get("components", {}).get("schemas", {})
    unbounded: set[str] = set()

    def walk(node: Any, where: str, seen: frozenset[str]) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, where, seen)
            return
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], name, seen | {name})
            return
        alternatives = node.get("anyOf", [])
        numeric = any(a.get("type") == "number" and "maximum" in a for a in alternatives)
        for alternative in alternatives:
            if numeric and alternative.get("type") == "string":
                continue  # a Decimal as text: bounded by the number's maximum
            walk(alternative, where, seen)
        kind = node.get("type")
        if kind == "string" and not {"maxLength", "enum", "const", "format"} & node.keys():
            unbounded.add(where)
        if kind == "array" and "maxItems" not in node:
            unbounded.add(where)
        for name, child in node.get("properties", {}).items():
            walk(child, f"{where}.{name}", seen)
        walk(node.get("items"), where, seen)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                walk(media["schema"], f"{method.upper()} {path}", frozenset())
    assert unbounded - bounded_elsewhere == set()


# --- server-owned fields -------------------------------------------------------------------------


def test_server_owned_fields_are_never_taken_from_a_client(db, api, tenant):
    forged = {
        "id": "00000000-0000-0000-0000-000000000001",
        "created_at": "2001-01-01T00:00:00Z",
        "updated_at": "2001-01-01T00:00:00Z",
        "account_id": "00000000-0000-0000-0000-000000000002",
    }
    made = api.post(CLIENTS, json={"name": "Honest", **forged})
    assert made.status_code == 201, made.text
    client = made.json()
    assert client["id"] != forged["id"] and not client["created_at"].startswith("2001")
    changed = api.patch(f"{CLIENTS}/{client['id']}", json={"name": "Still", **forged})
    assert changed.status_code == 200
    assert changed.json()["id"] == client["id"]
    assert not changed.json()["created_at"].startswith("2001")

    key = api.post(
        "/api/v2/api_keys",
        json={
            "name": "k",
            "scope": "read",
            "secret_hash": "0" * 64,
            "key_id": "chosen",
            "last_used_at": "2001-01-01T00:00:00Z",
            "revoked_at": "2001-01-01T00:00:00Z",
        },
    )
    assert key.status_code == 201, key.text
    token = key.json()["token"]
    assert "chosen" not in token and "secret_hash" not in key.json()
    assert key.json()["revoked_at"] is None and key.json()["last_used_at"] is None
    works = api.get("/api/v2/users/me", headers={"Authorization": f"Bearer {token}"})
    assert works.status_code == 200


def test_entry_billing_and_approval_state_are_not_set_by_a_client(db, api):
    project = api.post("/api/v2/projects", json={"name": "P", "client_id": client_id(api)})
    assert project.status_code == 201, project.text
    task = api.post("/api/v2/tasks", json={"name": "T"}).json()
    assignment = api.post(
        f"/api/v2/projects/{project.json()['id']}/task_assignments", json={"task_id": task["id"]}
    )
    assert assignment.status_code == 201, assignment.text
    entry = api.post(
        ENTRIES,
        json={
            "project_id": project.json()["id"],
            "task_id": task["id"],
            "spent_date": "2026-01-05",
            "hours": 1,
            "is_billed": True,
            "is_locked": True,
            "approval_status": "approved",
            "invoice": {"id": "x", "number": "1"},
        },
    )
    assert entry.status_code == 201, entry.text
    body = entry.json()
    assert body["is_billed"] is False and body["is_locked"] is False
    assert body.get("approval_status", "unsubmitted") == "unsubmitted"
    assert body.get("invoice") is None
    patched = api.patch(
        f"{ENTRIES}/{body['id']}", json={"is_billed": True, "approval_status": "approved"}
    )
    assert patched.status_code in (200, 400), patched.text
    stored = api.get(f"{ENTRIES}/{body['id']}").json()
    assert stored["is_billed"] is False
    assert stored.get("approval_status", "unsubmitted") == "unsubmitted"


def client_id(api: Any) -> str:
    made = api.post(CLIENTS, json={"name": "For projects"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])
