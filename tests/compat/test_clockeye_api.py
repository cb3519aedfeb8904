"""The ClockEye surface beyond its document's examples: one running timer per user across
every API, the SDKs' camelCase, its own OpenAPI document, webhook event names, and bad input
answered in ClockEye's error format."""

from __future__ import annotations

from typing import Any

import pytest
from compatkit import V2, make_work, ok, running_on_v2
from starlette.testclient import TestClient

API = "/api"


def clockeye(tenant: Any, token: str | None = None) -> TestClient:
    return TestClient(
        tenant.client.app,
        base_url="http://testserver",
        raise_server_exceptions=False,
        headers={"X-API-Key": token or tenant.token},
    )


def test_one_running_timer_across_surfaces(tenant):
    client, work = clockeye(tenant), make_work(tenant.client, code="ticket")
    # Started natively, seen and stopped through ClockEye.
    native = ok(
        tenant.client.post(
            f"{V2}/time_entries",
            json={
                "project_id": work.project_id,
                "task_id": work.task_id,
                "is_running": True,
            },
        ),
        201,
    )
    stopped = ok(client.post(f"{API}/time-entries/stop"))
    assert stopped["id"] == native["id"] and stopped["is_running"] is False

    # A Temporal.ist session is the running timer too, and ClockEye's stop ends it.
    temporal = ok(
        tenant.client.post("/api/v1/sessions/", json={"project_id": work.project_id}), 201
    )
    assert [e["id"] for e in running_on_v2(tenant.client)] == [str(temporal["id"])]
    assert ok(client.post(f"{API}/time-entries/stop"))["id"] == str(temporal["id"])
    closed = ok(tenant.client.get(f"/api/v1/sessions/{temporal['id']}/"))
    assert closed["end_time"] is not None

    # Started by AlgaPSA, replaced by ClockEye's start (which stops a running timer first).
    alga = ok(
        tenant.client.post(
            "/api/v1/time-entries/start-tracking",
            json={
                "work_item_type": "ticket",
                "work_item_id": "tk_1",
            },
        ),
        201,
    )["data"]
    mine = ok(client.post(f"{API}/time-entries/start", json={"project_id": work.project_id}), 201)
    assert [e["id"] for e in running_on_v2(tenant.client)] == [mine["id"]]
    assert ok(tenant.client.get(f"{V2}/time_entries/{alga['session_id']}"))["is_running"] is False

    # While ClockEye's timer runs, AlgaPSA may not start another: one per user.
    refused = tenant.client.post(
        "/api/v1/time-entries/start-tracking", json={"project_id": work.project_id}
    )
    assert refused.status_code == 409
    assert (
        ok(tenant.client.get("/api/v1/time-entries/active-session"))["data"]["session_id"]
        == (mine["id"])
    )


def test_start_takes_the_sdks_camel_case_and_an_implied_task(tenant):
    client, work = clockeye(tenant), make_work(tenant.client)
    timer = ok(
        client.post(
            f"{API}/time-entries/start",
            json={"projectId": work.project_id, "description": "Working on feature"},
        ),
        201,
    )
    assert (timer["project_id"], timer["task_id"]) == (work.project_id, work.task_id)
    again = ok(
        client.post(
            f"{API}/time-entries/start", json={"projectId": work.project_id, "taskId": work.task_id}
        ),
        201,
    )
    assert again["task_id"] == work.task_id
    assert [e["id"] for e in running_on_v2(tenant.client)] == [again["id"]]


def test_list_filters_by_user_and_project_and_pages(tenant):
    client = clockeye(tenant)
    website, support = make_work(tenant.client, "Website"), make_work(tenant.client, "Support")
    for work in (website, website, support):
        ok(
            tenant.client.post(
                f"{V2}/time_entries",
                json={
                    "project_id": work.project_id,
                    "task_id": work.task_id,
                    "spent_date": "2026-06-01",
                    "hours": 0.5,
                },
            ),
            201,
        )
    listed = ok(client.get(f"{API}/time-entries", params={"project_id": website.project_id}))
    assert {e["project_id"] for e in listed["data"]} == {website.project_id}
    assert listed["pagination"]["total"] == 2
    page = ok(client.get(f"{API}/time-entries", params={"per_page": 2, "page": 2}))
    assert len(page["data"]) == 1 and page["pagination"]["total_pages"] == 2
    mine = ok(client.get(f"{API}/time-entries", params={"user_id": tenant.user_id}))
    assert mine["pagination"]["total"] == 3


def test_webhook_event_names_are_clockeyes(tenant):
    client = clockeye(tenant)
    every = ok(
        client.post(
            f"{API}/webhooks",
            json={
                "url": "http://127.0.0.1:9/hook",
                "events": ["user.invited", "screenshot.captured", "project.created"],
            },
        ),
        201,
    )
    assert every["events"] == ["project.created", "screenshot.captured", "user.invited"]
    listed = ok(tenant.client.get(f"{V2}/webhooks/{every['id']}"))
    assert listed["events"] == every["events"]

    unknown = client.post(
        f"{API}/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["session.closed"]}
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "VALIDATION_ERROR"
    assert "events" in unknown.json()["details"]["fields"]


def test_openapi_document_is_the_surfaces_own(tenant):
    spec = ok(tenant.client.get(f"{API}/openapi.json"))
    assert spec["info"]["title"].endswith("ClockEye API")
    assert spec["servers"] == [{"url": API}]
    assert {
        "/time-entries",
        "/time-entries/start",
        "/time-entries/stop",
        "/projects",
        "/webhooks",
    } <= set(spec["paths"])
    assert "StartTimer" in spec["components"]["schemas"]
    assert tenant.client.get(f"{API}/docs").status_code == 200


# --- bad input --------------------------------------------------------------------------------

BAD = [
    ("no project", "POST", "/time-entries/start", {"description": "x"}, 400, "project_id"),
    (
        "unknown project",
        "POST",
        "/time-entries/start",
        {"project_id": "proj_123"},
        400,
        "project_id",
    ),
    (
        "long description",
        "POST",
        "/time-entries/start",
        {"project_id": "P", "description": "x" * 5001},
        400,
        "description",
    ),
    ("not a date", "GET", "/time-entries?start_date=01/02/2024", None, 400, "start_date"),
    (
        "range backwards",
        "GET",
        "/time-entries?start_date=2024-02-01&end_date=2024-01-01",
        None,
        400,
        "start_date",
    ),
    ("page zero", "GET", "/time-entries?page=0", None, 400, "page"),
    (
        "no events",
        "POST",
        "/webhooks",
        {"url": "http://127.0.0.1:9/h", "events": []},
        400,
        "events",
    ),
    ("nothing running", "POST", "/time-entries/stop", None, 409, None),
    ("unknown route", "GET", "/nope", None, 404, None),
    ("wrong method", "DELETE", "/projects", None, 405, None),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_input_gets_clockeye_errors_and_writes_nothing(
    tenant, method, path, body, status, field
):
    client, work = clockeye(tenant), make_work(tenant.client)
    if isinstance(body, dict) and body.get("project_id") == "P":
        body = {**body, "project_id": work.project_id}
    response = client.request(method, API + path, json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"error", "code", "details"} and error["error"]
    if field is not None:
        assert error["code"] == "VALIDATION_ERROR"
        assert field in error["error"]
        assert field in error["details"]["fields"]
    assert ok(tenant.client.get(f"{V2}/time_entries"))["time_entries"] == []


def test_auth_scope_malformed_and_size_errors_are_clockeye_shaped(tenant):
    client = clockeye(tenant)
    anonymous = TestClient(tenant.client.app, raise_server_exceptions=False).get(f"{API}/projects")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "MISSING_TOKEN" and anonymous.json()["details"] == {}
    key = ok(tenant.client.post(f"{V2}/api_keys", json={"name": "reader", "scope": "read"}), 201)
    reader = clockeye(tenant, key["token"])
    assert reader.get(f"{API}/projects").status_code == 200
    refused = reader.post(f"{API}/time-entries/stop")
    assert refused.status_code == 403 and refused.json()["code"] == "INSUFFICIENT_SCOPE"

    malformed = client.post(
        f"{API}/time-entries/start", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["code"] == "VALIDATION_ERROR"
    huge = client.post(
        f"{API}/webhooks",
        content=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["code"] == "PAYLOAD_TOO_LARGE"
