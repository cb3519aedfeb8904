"""The AlgaPSA surface route by route, over the real ASGI app, checked against what the
native API sees; and bad input, answered in AlgaPSA's error format."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from compatkit import V2, Work, make_work, ok, running_on_v2
from starlette.testclient import TestClient

BASE = "/api/v1/time-entries"


def alga(tenant: Any, token: str | None = None) -> TestClient:
    """A client sending the key the way AlgaPSA's clients do."""
    return TestClient(
        tenant.client.app,
        base_url="http://testserver",
        raise_server_exceptions=False,
        headers={"X-API-Key": token or tenant.token},
    )


def entry(work: Work, **fields: Any) -> dict[str, Any]:
    body = {
        "work_item_type": "ticket",
        "work_item_id": "tk_1",
        "project_id": work.project_id,
        "started_at": "2026-06-02T14:00:00Z",
        "ended_at": "2026-06-02T15:30:00Z",
        "notes": "VPN repair",
    }
    return {**body, **fields}


def create(client: TestClient, work: Work, **fields: Any) -> dict[str, Any]:
    created: dict[str, Any] = ok(client.post(BASE, json=entry(work, **fields)), 201)["data"]
    return created


def test_entries_list_filter_page_get_update_delete(tenant):
    client, work = alga(tenant), make_work(tenant.client)
    first = create(client, work, work_item_id="tk_1")
    create(
        client,
        work,
        work_item_id="tk_2",
        started_at="2026-06-03T09:00:00Z",
        ended_at=None,
        duration_minutes=30,
    )
    create(
        client,
        work,
        work_item_id="tk_2",
        started_at="2026-06-04T09:00:00Z",
        ended_at="2026-06-04T09:45:00Z",
    )

    page = ok(client.get(BASE, params={"limit": 2}))
    assert [e["started_at"][:10] for e in page["data"]] == ["2026-06-04", "2026-06-03"]
    assert page["pagination"] == {
        "page": 1,
        "limit": 2,
        "total": 3,
        "total_pages": 2,
        "has_next": True,
        "has_prev": False,
    }
    second = ok(client.get(BASE, params={"limit": 2, "page": 2}))
    assert [e["id"] for e in second["data"]] == [first["id"]]
    by_item = ok(client.get(BASE, params={"work_item_type": "ticket", "work_item_id": "tk_2"}))
    assert [e["duration_minutes"] for e in by_item["data"]] == [45, 30]
    in_range = ok(client.get(BASE, params={"start_date": "2026-06-03", "end_date": "2026-06-03"}))
    assert [e["work_item_id"] for e in in_range["data"]] == ["tk_2"]

    assert ok(client.get(f"{BASE}/{first['id']}"))["data"] == first
    changed = ok(
        client.put(f"{BASE}/{first['id']}", json={"duration_minutes": 60, "billable_minutes": 45})
    )["data"]
    assert changed["ended_at"] == "2026-06-02T15:00:00Z"
    assert (changed["duration_minutes"], changed["billable_minutes"]) == (60, 45)
    assert changed["notes"] == "VPN repair"  # left out, so kept
    assert ok(tenant.client.get(f"{V2}/time_entries/{first['id']}"))["hours"] == 1.0

    assert client.delete(f"{BASE}/{first['id']}").status_code == 204
    gone = client.get(f"{BASE}/{first['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "NOT_FOUND"


def test_billable_minutes_are_stored_and_billed(tenant):
    client = alga(tenant)
    project = ok(
        tenant.client.post(
            f"{V2}/projects",
            json={
                "name": "Managed services",
                "code": "ticket",
                "bill_by": "Project",
                "hourly_rate": 120,
            },
        ),
        201,
    )
    task = ok(tenant.client.post(f"{V2}/tasks", json={"name": "Support"}), 201)
    ok(
        tenant.client.post(
            f"{V2}/projects/{project['id']}/task_assignments",
            json={"task_id": task["id"], "billable": True},
        ),
        201,
    )
    body = entry(Work(project["id"], task["id"]), billable_minutes=60)
    del body["project_id"]  # the project is found by its code, "ticket"
    created = ok(client.post(BASE, json=body), 201)["data"]
    assert (created["duration_minutes"], created["billable_minutes"]) == (90, 60)

    native = ok(tenant.client.get(f"{V2}/time_entries/{created['id']}"))
    assert native["hours"] == 1.5
    assert native["billable_rate"] == 120
    assert native["billable_amount"] == 120  # 60 billable minutes, not 90

    none_billed = ok(client.put(f"{BASE}/{created['id']}", json={"billable_minutes": 0}))["data"]
    assert none_billed["billable_minutes"] == 0 and none_billed["billable"] is False
    cleared = ok(
        client.put(f"{BASE}/{created['id']}", json={"billable_minutes": None, "billable": True})
    )["data"]
    assert cleared["billable_minutes"] == 90


def test_tracking_session_is_the_one_running_timer(tenant):
    client, work = alga(tenant), make_work(tenant.client, code="ticket")
    assert ok(client.get(f"{BASE}/active-session")) == {"data": None}

    started = ok(
        client.post(
            f"{BASE}/start-tracking",
            json={"work_item_type": "ticket", "work_item_id": "tk_7", "notes": "triage"},
        ),
        201,
    )["data"]
    session_id = started["session_id"]
    assert (started["project_id"], started["task_id"]) == (work.project_id, work.task_id)
    assert ok(client.get(f"{BASE}/active-session"))["data"]["session_id"] == session_id
    assert [e["id"] for e in running_on_v2(tenant.client)] == [session_id]

    again = client.post(f"{BASE}/start-tracking", json={"project_id": work.project_id})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "TIMER_RUNNING"

    stopped = ok(client.post(f"{BASE}/stop-tracking/{session_id}", json={"notes": "done"}))["data"]
    assert stopped["id"] == session_id
    assert stopped["is_running"] is False and stopped["ended_at"] is not None
    assert stopped["notes"] == "done" and stopped["work_item_id"] == "tk_7"
    assert running_on_v2(tenant.client) == []
    assert ok(client.get(f"{BASE}/active-session")) == {"data": None}
    twice = client.post(f"{BASE}/stop-tracking/{session_id}")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "NOT_RUNNING"


def test_approve_and_request_changes(tenant):
    client, work = alga(tenant), make_work(tenant.client)
    one, two = create(client, work), create(client, work, work_item_id="tk_2")

    approved = ok(client.post(f"{BASE}/approve", json={"entry_ids": [one["id"]]}))["data"]
    assert [e["approval_status"] for e in approved] == ["APPROVED"]
    locked = client.put(f"{BASE}/{one['id']}", json={"notes": "late edit"})
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "LOCKED"

    sent_back = ok(
        client.post(
            f"{BASE}/request-changes", json={"entry_ids": [two["id"]], "reason": "Which ticket?"}
        )
    )["data"]
    assert sent_back[0]["approval_status"] == "CHANGES_REQUESTED"
    assert sent_back[0]["change_request_reason"] == "Which ticket?"
    native = ok(tenant.client.get(f"{V2}/time_entries/{two['id']}"))
    assert (native["approval_status"], native["rejection_reason"]) == ("rejected", "Which ticket?")
    listed = ok(client.get(BASE, params={"approval_status": "APPROVED"}))["data"]
    assert [e["id"] for e in listed] == [one["id"]]


def test_bulk_create_update_delete_all_or_nothing(tenant):
    client, work = alga(tenant), make_work(tenant.client)
    made = ok(
        client.post(
            f"{BASE}/bulk",
            json={
                "entries": [
                    entry(work, work_item_id="tk_1"),
                    entry(work, work_item_id="tk_2", billable_minutes=30),
                ]
            },
        ),
        201,
    )["data"]
    assert [e["work_item_id"] for e in made] == ["tk_1", "tk_2"]

    # Items that are not AlgaPSA entries at all, then items the service refuses: each named
    # by its index.
    unreadable = client.post(
        f"{BASE}/bulk", json={"entries": [entry(work), entry(work), {"notes": "no start"}]}
    )
    assert unreadable.status_code == 400
    error = unreadable.json()["error"]
    assert error["code"] == "BULK_FAILED"
    assert [d["index"] for d in error["details"]] == [2]
    assert "started_at" in error["details"][0]["message"]
    refused = client.post(
        f"{BASE}/bulk", json={"entries": [entry(work), entry(work, billable_minutes=500)]}
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "BULK_FAILED"
    assert [d["index"] for d in error["details"]] == [1]
    assert "billable_minutes" in error["details"][0]["message"]
    assert ok(client.get(BASE))["pagination"]["total"] == 2  # nothing of it was written

    updated = ok(
        client.put(
            f"{BASE}/bulk",
            json={
                "entries": [
                    {"id": made[0]["id"], "notes": "first"},
                    {"id": made[1]["id"], "duration_minutes": 60},
                ]
            },
        )
    )["data"]
    assert updated[0]["notes"] == "first" and updated[1]["duration_minutes"] == 60

    deleted = client.request(
        "DELETE", f"{BASE}/bulk", json={"entry_ids": [made[0]["id"], made[1]["id"]]}
    )
    assert ok(deleted)["data"]["deleted"] == [made[0]["id"], made[1]["id"]]
    assert ok(client.get(BASE))["data"] == []


def test_export_search_stats_and_templates(tenant):
    client, work = alga(tenant), make_work(tenant.client)
    vpn = create(client, work, notes="Repaired the office VPN")
    create(client, work, work_item_id="tk_2", notes="Printer jam", ended_at="2026-06-02T14:30:00Z")

    exported = client.get(f"{BASE}/export", params={"format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["notes"] for r in rows) == ["Printer jam", "Repaired the office VPN"]

    found = ok(client.get(f"{BASE}/search", params={"query": "vpn"}))
    assert [e["id"] for e in found["data"]] == [vpn["id"]]

    stats = ok(client.get(f"{BASE}/stats", params={"group_by": "day"}))["data"]
    assert stats["totals"][0]["total_minutes"] == 120
    assert stats["totals"][0]["entry_count"] == 2
    assert [g["key"] for g in stats["groups"]] == ["2026-06-02"]

    ok(
        tenant.client.post(
            f"{V2}/time_entry_templates",
            json={
                "name": "Standup",
                "project_id": work.project_id,
                "task_id": work.task_id,
                "hours": 0.25,
            },
        ),
        201,
    )
    templates = ok(client.get(f"{BASE}/templates"))
    assert [(t["name"], t["duration_minutes"]) for t in templates["data"]] == [("Standup", 15)]
    assert templates["pagination"]["total"] == 1


def test_openapi_document_is_the_surfaces_own(tenant):
    spec = ok(tenant.client.get(f"{BASE}/openapi.json"))
    assert spec["info"]["title"].endswith("AlgaPSA time entries API")
    assert spec["servers"] == [{"url": BASE}]
    assert tenant.client.get(f"{BASE}/docs").status_code == 200


# --- bad input --------------------------------------------------------------------------------

BAD = [
    ("missing started_at", "POST", "", {"started_at": None}, 400, "started_at"),
    ("billable over duration", "POST", "", {"billable_minutes": 91}, 400, "billable_minutes"),
    ("end before start", "POST", "", {"ended_at": "2026-06-02T13:00:00Z"}, 400, "ended_at"),
    (
        "half a work item",
        "POST",
        "",
        {"work_item_id": None, "work_item_type": "ticket"},
        400,
        "work_item_id",
    ),
    ("no project", "POST", "", {"project_id": None}, 400, "project_id"),
    (
        "negative duration",
        "POST",
        "",
        {"ended_at": None, "duration_minutes": -5},
        400,
        "duration_minutes",
    ),
    (
        "start in year 9999",
        "POST",
        "",
        {"started_at": "9999-12-31T23:59:59Z", "ended_at": None, "duration_minutes": 60},
        400,
        "started_at",
    ),
    ("end in year 1", "POST", "", {"ended_at": "0001-01-01T00:00:00Z"}, 400, "ended_at"),
    ("not a date", "GET", "?start_date=June", None, 400, "start_date"),
    ("unknown status", "GET", "?approval_status=LOST", None, 400, "approval_status"),
    ("limit too big", "GET", "?limit=1000", None, 400, "limit"),
    ("empty search", "GET", "/search?query=", None, 400, "query"),
    ("no ids to approve", "POST", "/approve", {"entry_ids": []}, 400, "entry_ids"),
    ("reason missing", "POST", "/request-changes", {"entry_ids": ["x"]}, 400, "reason"),
    ("unknown entry", "GET", "/00000000-0000-0000-0000-000000000000", None, 404, None),
    ("unknown session", "POST", "/stop-tracking/nope", None, 404, None),
    ("unknown route", "GET", "/nope/deeper", None, 404, None),
    ("wrong method", "PATCH", "/active-session", {}, 405, None),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_input_gets_algapsa_errors_and_writes_nothing(
    tenant, method, path, body, status, field
):
    client, work = alga(tenant), make_work(tenant.client)
    payload = (
        {k: v for k, v in entry(work, **body).items() if v is not None}
        if (method == "POST" and path == "" and body is not None)
        else body
    )
    response = client.request(method, BASE + path, json=payload)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "details"} and error["message"]
    if field is not None:
        assert error["code"] == "VALIDATION_ERROR"
        assert field in error["message"]
        assert field in [d.get("field") for d in error.get("details", [])]
    assert ok(tenant.client.get(f"{V2}/time_entries"))["time_entries"] == []


def test_malformed_json_auth_scope_and_size_errors_are_algapsa_shaped(tenant):
    client = alga(tenant)
    malformed = client.post(
        BASE, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "VALIDATION_ERROR"

    anonymous = TestClient(tenant.client.app, raise_server_exceptions=False).get(BASE)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "MISSING_TOKEN"
    assert alga(tenant, "tlk_nope_nope").get(BASE).json()["error"]["code"] == "INVALID_TOKEN"

    key = ok(tenant.client.post(f"{V2}/api_keys", json={"name": "reader", "scope": "read"}), 201)
    reader = alga(tenant, key["token"])
    assert reader.get(BASE).status_code == 200
    refused = reader.post(f"{BASE}/start-tracking", json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"

    huge = client.post(
        BASE, content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"}
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
