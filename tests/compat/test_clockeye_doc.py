"""The ClockEye reference document, run as written: each of its curl examples with the real
curl binary against a live server (host, key and ids swapped, nothing else), and webhook
deliveries checked with the document's own Node.js verification function."""

from __future__ import annotations

import json
from typing import Any

from compatkit import V2, curl_examples, document, make_work, node_verify, ok, run_curl, snippet

DOC = document("clockeye-api.md")
EXAMPLES = curl_examples(DOC)
VERIFY_JS = snippet(DOC, "const crypto = require('crypto');", "}")
HOOK_URL = "https://your-server.com/webhooks/clockeye"


def example(method: str, path: str) -> Any:
    return next(e for e in EXAMPLES if (e.method, e.path) == (method, path))


def substitutions(tenant: Any, work: Any, receiver: Any = None) -> dict[str, str]:
    swap = {
        "your-api-key": tenant.token,
        "your-access-token": tenant.token,
        "proj_123": work.project_id,
        "task_456": work.task_id,
    }
    if receiver is not None:
        swap[HOOK_URL] = receiver.url("/webhooks/clockeye")
    return swap


def test_the_document_has_what_these_tests_run():
    assert [(e.method, e.path) for e in EXAMPLES] == [
        ("GET", "/api/projects"),
        ("GET", "/api/time-entries"),
        ("GET", "/api/time-entries?start_date=2024-01-01&end_date=2024-01-31"),
        ("POST", "/api/time-entries/start"),
        ("POST", "/api/time-entries/stop"),
        ("POST", "/api/webhooks"),
    ]
    assert "function verifyWebhookSignature(payload, signature, secret)" in VERIFY_JS


def test_list_projects_with_an_api_key(tenant, live):
    work = make_work(tenant.client, "Website")
    status, body = run_curl(example("GET", "/api/projects"), live.url, substitutions(tenant, work))
    assert status == 200
    assert [(p["id"], p["name"]) for p in body["data"]] == [(work.project_id, "Website")]
    assert body["pagination"] == {"page": 1, "per_page": 50, "total": 1, "total_pages": 1}


def test_list_time_entries_with_a_bearer_token_and_a_date_range(tenant, live):
    work = make_work(tenant.client)
    for day in ("2023-12-31", "2024-01-15", "2024-01-31", "2024-02-01"):
        ok(
            tenant.client.post(
                f"{V2}/time_entries",
                json={
                    "project_id": work.project_id,
                    "task_id": work.task_id,
                    "spent_date": day,
                    "hours": 1,
                },
            ),
            201,
        )
    swap = substitutions(tenant, work)

    status, everything = run_curl(example("GET", "/api/time-entries"), live.url, swap)
    assert status == 200
    assert everything["pagination"]["total"] == 4

    january = example("GET", "/api/time-entries?start_date=2024-01-01&end_date=2024-01-31")
    status, body = run_curl(january, live.url, swap)
    assert status == 200
    assert [e["duration"] for e in body["data"]] == [3600, 3600]
    assert body["pagination"]["total"] == 2
    assert set(body["data"][0]) == {
        "id",
        "user_id",
        "project_id",
        "task_id",
        "description",
        "start_time",
        "end_time",
        "duration",
        "is_running",
        "billable",
        "created_at",
        "updated_at",
    }


def test_start_then_stop_the_timer(tenant, live):
    work = make_work(tenant.client)
    swap = substitutions(tenant, work)

    status, timer = run_curl(example("POST", "/api/time-entries/start"), live.url, swap)
    assert status == 201
    assert (timer["project_id"], timer["task_id"]) == (work.project_id, work.task_id)
    assert timer["description"] == "Working on feature"
    assert timer["is_running"] is True and timer["end_time"] is None
    native = ok(tenant.client.get(f"{V2}/time_entries/{timer['id']}"))
    assert native["is_running"] is True and native["notes"] == "Working on feature"

    status, entry = run_curl(example("POST", "/api/time-entries/stop"), live.url, swap)
    assert status == 200
    assert entry["id"] == timer["id"]
    assert entry["is_running"] is False and entry["end_time"] is not None
    assert ok(tenant.client.get(f"{V2}/time_entries/{timer['id']}"))["is_running"] is False

    status, nothing = run_curl(example("POST", "/api/time-entries/stop"), live.url, swap)
    assert status == 409
    assert nothing == {"error": "no timer is running", "code": "NOT_RUNNING", "details": {}}


def test_webhook_deliveries_verify_with_the_documents_function(tenant, live, receiver, dispatcher):
    work = make_work(tenant.client)
    swap = substitutions(tenant, work, receiver)

    status, hook = run_curl(example("POST", "/api/webhooks"), live.url, swap)
    assert status == 201
    assert hook["url"] == receiver.url("/webhooks/clockeye")
    assert hook["events"] == ["time_entry.created", "time_entry.stopped"]
    assert hook["active"] is True
    secret = hook["secret"]

    run_curl(example("POST", "/api/time-entries/start"), live.url, swap)
    status, stopped = run_curl(example("POST", "/api/time-entries/stop"), live.url, swap)
    assert status == 200
    dispatcher.run_once()

    # Sent concurrently, so in either order.
    received = sorted(receiver.wait_for(2), key=lambda r: str(r.json()["event"]))
    assert [r.json()["event"] for r in received] == ["time_entry.created", "time_entry.stopped"]
    for delivery in received:
        signature = delivery.headers["x-clockeye-signature"]
        assert signature.startswith("sha256=")
        assert node_verify(VERIFY_JS, delivery.body, signature, secret)
        assert not node_verify(VERIFY_JS, delivery.body + b" ", signature, secret)
        assert not node_verify(VERIFY_JS, delivery.body, signature, "another-secret")

    last = json.loads(received[1].body)
    assert set(last) == {"id", "event", "timestamp", "data"}
    listed = ok(tenant.client.get("/api/time-entries"))["data"][0]
    assert last["data"] == {**listed, "updated_at": last["data"]["updated_at"]}
    assert last["data"]["id"] == stopped["id"] and last["data"]["is_running"] is False
