"""The AlgaPSA reference document, run as written: its curl example with the real curl
binary against a live server, and every route its endpoint table lists, present in the
surface's OpenAPI document with its method."""

from __future__ import annotations

import re

import pytest
from compatkit import V2, curl_examples, document, make_work, ok, run_curl

DOC = document("algapsa-time-entries-api.md")
EXAMPLES = curl_examples(DOC)
# The endpoint table, as rendered: "GET/api/v1/time-entriesAlgaPSAList time entries..."
ROUTES = re.findall(r"(GET|POST|PUT|DELETE)(/api/v1/time-entries[^A\s]*)AlgaPSA", DOC)
BASE = "/api/v1/time-entries"


def test_the_document_has_what_these_tests_run():
    assert len(EXAMPLES) == 1
    assert len(ROUTES) == 17


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.method} {e.path}")
def test_curl_example_runs_verbatim(example, tenant, live):
    # The example names a work item of type "ticket" and no project: its time goes to the
    # project whose code is "ticket", on that project's only task.
    work = make_work(tenant.client, code="ticket")
    status, body = run_curl(example, live.url, {"$ALGA_API_KEY": tenant.token})

    assert status == 201, body
    entry = body["data"]
    sent = example.data
    assert entry["work_item_type"] == sent["work_item_type"] == "ticket"
    assert entry["work_item_id"] == sent["work_item_id"]
    assert entry["started_at"] == "2026-06-02T14:00:00Z"
    assert entry["ended_at"] == "2026-06-02T15:30:00Z"
    assert entry["duration_minutes"] == 90
    assert entry["billable_minutes"] == sent["billable_minutes"] == 90
    assert entry["notes"] == sent["notes"]
    assert entry["user_id"] == tenant.user_id
    assert (entry["project_id"], entry["task_id"]) == (work.project_id, work.task_id)
    assert entry["approval_status"] == "DRAFT"
    assert entry["is_running"] is False

    # The same entry, as the native API sees it.
    native = ok(tenant.client.get(f"{V2}/time_entries/{entry['id']}"))
    assert native["hours"] == 1.5
    assert native["spent_date"] == "2026-06-02"
    assert native["external_reference"] == {"type": "ticket", "id": "tk_9c41"}


def test_every_listed_route_is_served_and_documented(tenant):
    spec = ok(tenant.client.get(f"{BASE}/openapi.json"))
    documented = {
        (method.upper(), BASE + path.rstrip("/"))
        for path, operations in spec["paths"].items()
        for method in operations
    }
    for method, path in ROUTES:
        assert (method, path) in documented, (method, path)
    # Bodies are documented: a create names its fields.
    create = spec["components"]["schemas"]["TimeEntryIn"]["properties"]
    for field in ("work_item_type", "work_item_id", "started_at", "ended_at", "billable_minutes"):
        assert field in create
