"""Bad input: every case gets its 4xx in the /api/v2 error format, a description naming the
field, no 5xx, and leaves the database exactly as it was (no row, no field, no event)."""

from __future__ import annotations

from typing import Any

import pytest
from v2kit import V2, assert_error, fill

JSON = {"Content-Type": "application/json"}
MiB = 1024 * 1024

# (method, path, body, status, words the error description must contain), by family.
# A body that is a `bytes` value is sent raw as application/json.
Case = tuple[str, str, Any, int, str]
CASES: dict[str, list[Case]] = {
    # the body itself
    "body": [
        ("POST", "clients", b'{"name": "x",', 400, "malformed JSON"),
        ("POST", "clients", b"[1, 2]", 400, "object"),
        ("POST", "clients", b'"just a string"', 400, "object"),
        ("POST", "clients", None, 400, "body is required"),
        ("PATCH", "company", b"{not json}", 400, "malformed JSON"),
    ],
    # required fields and types
    "types": [
        ("POST", "clients", {}, 400, "name"),
        ("POST", "clients", {"name": 123}, 400, "name"),
        ("POST", "clients", {"name": "   "}, 400, "name"),
        ("POST", "clients", {"name": "x", "is_active": "maybe"}, 400, "is_active"),
        ("POST", "clients", {"name": "x", "payment_days": "thirty"}, 400, "payment_days"),
        ("PATCH", "clients/{client}", {"name": None}, 400, "name"),
        ("PATCH", "clients/{client}", {"is_active": None}, 400, "is_active"),
        ("POST", "contacts", {"first_name": "x"}, 400, "client_id"),
        ("POST", "users", {"email": "not-an-email"}, 400, "email"),
        ("POST", "users", {"email": "a@b.example", "weekly_capacity": 1.5}, 400, "weekly_capacity"),
        ("POST", "users", {"email": "a@b.example", "weekly_capacity": -1}, 400, "weekly_capacity"),
        ("PATCH", "users/{user}", {"is_contractor": "sometimes"}, 400, "is_contractor"),
    ],
    # closed enums
    "enums": [
        ("POST", "clients", {"name": "x", "payment_terms": "net 30"}, 400, "payment_terms"),
        ("PATCH", "clients/{client}", {"payment_terms": "net_90"}, 400, "payment_terms"),
        ("POST", "projects", {"name": "x", "bill_by": "x"}, 400, "bill_by"),
        ("POST", "projects", {"name": "x", "budget_by": "hours"}, 400, "budget_by"),
        ("POST", "users", {"email": "a@b.example", "role": "god"}, 400, "role"),
        ("POST", "users", {"email": "a@b.example", "user_type": "robot"}, 400, "user_type"),
        ("POST", "api_keys", {"name": "k", "scope": "admin"}, 400, "scope"),
        ("PATCH", "company", {"week_start_day": "Funday"}, 400, "week_start_day"),
    ],
    # sizes of strings (and what the database columns can hold)
    "sizes": [
        ("POST", "clients", {"name": "x" * 256}, 400, "name"),
        ("PATCH", "tasks/{task}", {"name": "x" * 256}, 400, "name"),
        ("POST", "clients", {"name": "x", "address": "a" * 1001}, 400, "address"),
        ("PATCH", "clients/{client}", {"address": "a" * 1001}, 400, "address"),
        ("POST", "projects", {"name": "x", "code": "c" * 65}, 400, "code"),
        ("POST", "projects", {"name": "x", "notes": "n" * 5001}, 400, "notes"),
        (
            "POST",
            "contacts",
            {"client_id": "{client}", "first_name": "x", "fax": "1" * 65},
            400,
            "fax",
        ),
        ("POST", "users", {"email": "a@b.example", "first_name": "f" * 256}, 400, "first_name"),
        ("POST", "clients", {"name": "nul\x00byte"}, 400, "name"),
    ],
    # time zones and currencies
    "zones and currencies": [
        ("PATCH", "company", {"timezone": "Mars/Base"}, 400, "timezone"),
        ("PATCH", "company", {"currency": "XYZ"}, 400, "currency"),
        ("POST", "clients", {"name": "x", "currency": "XYZ"}, 400, "currency"),
        ("POST", "projects", {"name": "x", "currency": "EURO"}, 400, "currency"),
        ("POST", "users", {"email": "a@b.example", "timezone": "Europe/Atlantis"}, 400, "timezone"),
    ],
    # money, rates, percentages
    "money": [
        ("POST", "projects", {"name": "x", "hourly_rate": -1}, 400, "hourly_rate"),
        (
            "POST",
            "tasks",
            {"name": "x", "default_hourly_rate": "-0.01"},
            400,
            "default_hourly_rate",
        ),
        (
            "POST",
            "tasks",
            {"name": "x", "default_hourly_rate": "1.23456"},
            400,
            "default_hourly_rate",
        ),
        ("POST", "tasks", {"name": "x", "default_hourly_rate": 1e12}, 400, "default_hourly_rate"),
        ("POST", "clients", {"name": "x", "tax": 100.5}, 400, "tax"),
        ("POST", "clients", {"name": "x", "discount": "NaN"}, 400, "discount"),
        ("POST", "clients", {"name": "x", "tax2": "ten"}, 400, "tax2"),
        ("PATCH", "projects/{project}", {"budget": True}, 400, "budget"),
        ("PATCH", "users/{user}", {"cost_rate": -5}, 400, "cost_rate"),
        ("PATCH", "company", {"default_hourly_rate": "0.00001"}, 400, "default_hourly_rate"),
        (
            "POST",
            "projects/{project}/task_assignments",
            {"task_id": "{task}", "hourly_rate": -1},
            400,
            "hourly_rate",
        ),
    ],
    # dates and their order
    "dates": [
        ("POST", "projects", {"name": "x", "starts_on": "2026-02-30"}, 400, "starts_on"),
        (
            "POST",
            "projects",
            {"name": "x", "starts_on": "2026-02-01", "ends_on": "2026-01-31"},
            400,
            "ends_on",
        ),
        ("PATCH", "projects/{project}", {"ends_on": "2025-12-31"}, 400, "ends_on"),  # starts 2026
        ("PATCH", "projects/{project}", {"starts_on": "2026-07-01"}, 400, "ends_on"),  # ends 06-30
        ("POST", "projects", {"name": "x", "is_fixed_fee": True}, 400, "fee"),
        (
            "POST",
            "api_keys",
            {"name": "k", "expires_at": "2000-01-01T00:00:00Z"},
            400,
            "expires_at",
        ),
        ("POST", "api_keys", {"name": "k", "expires_at": "soon"}, 400, "expires_at"),
    ],
    # ids that name nothing of this account, in bodies: 400 naming the field
    "ids in bodies": [
        ("POST", "projects", {"name": "x", "client_id": "{foreign_client}"}, 400, "client_id"),
        ("POST", "projects", {"name": "x", "client_id": "not-a-uuid"}, 400, "client_id"),
        ("PATCH", "projects/{project}", {"client_id": "{foreign_client}"}, 400, "client_id"),
        (
            "POST",
            "contacts",
            {"client_id": "{foreign_client}", "first_name": "x"},
            400,
            "client_id",
        ),
        ("PATCH", "contacts/{contact}", {"client_id": "{foreign_client}"}, 400, "client_id"),
        (
            "POST",
            "projects/{project}/task_assignments",
            {"task_id": "{foreign_task}"},
            400,
            "task_id",
        ),
        (
            "POST",
            "projects/{project}/user_assignments",
            {"user_id": "{foreign_user}"},
            400,
            "user_id",
        ),
        ("POST", "api_keys", {"name": "k", "user_id": "{foreign_user}"}, 400, "user_id"),
        ("POST", "api_keys", {"name": "k", "user_id": "nobody"}, 400, "user_id"),
    ],
    # ids in paths: 404, never 403
    "ids in paths": [
        ("GET", "clients/not-a-uuid", None, 404, "client"),
        ("PATCH", "clients/{foreign_client}", {"name": "mine now"}, 404, "client"),
        ("DELETE", "projects/{foreign_project}", None, 404, "project"),
        ("PATCH", "users/{foreign_user}", {"first_name": "x"}, 404, "user"),
        (
            "POST",
            "projects/{foreign_project}/task_assignments",
            {"task_id": "{task}"},
            404,
            "project",
        ),
    ],
    # query parameters
    "query": [
        ("GET", "clients?per_page=0", None, 400, "per_page"),
        ("GET", "clients?per_page=2001", None, 400, "per_page"),
        ("GET", "clients?per_page=abc", None, 400, "per_page"),
        ("GET", "projects?page=0", None, 400, "page"),
        ("GET", "projects?page=-1", None, 400, "page"),
        ("GET", "tasks?is_active=maybe", None, 400, "is_active"),
        ("GET", "users?updated_since=yesterday", None, 400, "updated_since"),
    ],
    # the size of the body
    "body size": [
        ("POST", "clients", b'{"name": "' + b"x" * MiB + b'"}', 413, "limit"),
        ("PATCH", "company", b'{"name": "' + b"x" * MiB + b'"}', 413, "limit"),
    ],
}


def chunked(data: bytes) -> Any:
    """A body without Content-Length, streamed in pieces."""
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]


@pytest.mark.parametrize("family", CASES)
def test_bad_input_is_refused_and_writes_nothing(api, targets, state, family):
    """Each case of the family on its own rows: the status, the field named, no 5xx, and
    the database untouched."""
    for case in CASES[family]:
        method, path, body, status, words = case
        ids = targets()
        path, body = fill(path, ids), fill(body, ids)
        before = state()
        if isinstance(body, bytes):
            response = api.request(method, f"{V2}/{path}", content=body, headers=JSON)
        elif body is None:
            response = api.request(method, f"{V2}/{path}", headers=JSON)
        else:
            response = api.request(method, f"{V2}/{path}", json=body)
        assert response.status_code < 500, (case, response.text)
        assert response.status_code == status, (case, response.text)
        assert_error(response, status, words)
        if status != 413:  # refused in front of the surface, before any route
            assert response.headers["X-Keito-API-Version"] == "2", case
        assert state() == before, case


@pytest.mark.parametrize("path", ["clients", "company"])
def test_streamed_body_over_the_limit_is_413(api, state, path):
    before = state()
    data = b'{"name": "' + b"x" * (MiB + 10) + b'"}'
    method = "PATCH" if path == "company" else "POST"
    response = api.request(method, f"{V2}/{path}", content=chunked(data), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "limit")
    assert state() == before


def test_a_body_just_under_the_limit_is_parsed(api):
    padding = " " * (MiB - 100)
    response = api.post(f"{V2}/clients", content=f'{padding}{{"name": "ok"}}', headers=JSON)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("page", ["4", "99999999999999999999"])
def test_a_page_past_the_end_is_empty(api, create, page):
    create("clients", name="only")
    response = api.get(f"{V2}/clients", params={"page": page})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["clients"], body["total_entries"], body["total_pages"]) == ([], 1, 1)
    assert body["next_page"] is None
