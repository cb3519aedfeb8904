"""Every curl example of the Temporal.ist reference, run verbatim (our host and key, and ids
of rows that exist here) by the real curl binary against a uvicorn on 127.0.0.1, checked
against the status and the response shapes the document gives."""

from __future__ import annotations

from typing import Any

from compatkit import Curl, curl_examples, ok, run_curl
from temporalist_kit import (
    TEXT,
    UUID,
    V1,
    documented_shapes,
    resource_of,
    responses_of,
    same_shape,
    with_ids,
)

EXAMPLES = curl_examples(TEXT)
RESPONSES = responses_of(EXAMPLES)
SHAPES = documented_shapes()
DOC_TOKEN = "tk_live_7g3k9m2p_q8x4w1z6r5t0y9u3i7o2a6s1d4f8g0h2"
# The document's ids, and the rows of ours that stand in for them.
DOC_PROJECT = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
DOC_SESSION = "9f8e7d6c-5b4a-4039-8271-6a5b4c3d2e1f"
DOC_CLIENT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
DOC_HOOK_URL = "https://hooks.example.com/temporalist"
# Temporal.ist numbers users and organisations; here they are UUIDs like everything else.
UUID_NOT_INT = {"user_id", "organisation_id"}
# Values that differ from the document's by nature (ids, clock times, names of our rows).
VARYING = {
    "id",
    "project_id",
    "start_time",
    "end_time",
    "total_seconds",
    "secret",
    "created_at",
    "created",
    "target_url",
    "email",
    "organisation_name",
    "api_key_name",
    "invoice_number",
    "client_id",
    "due_date",
    *UUID_NOT_INT,
}


def test_the_document_has_the_examples_this_module_expects():
    routes = [(e.method, resource_of(e.path)) for e in EXAMPLES]
    assert len(EXAMPLES) == 13
    assert routes.count(("POST", "sessions")) == 4  # two starts, two closes
    assert {r for _, r in routes} == {
        "me",
        "projects",
        "sessions",
        "clients",
        "invoices",
        "webhooks",
    }
    assert sum(r is not None for r in RESPONSES) == 6


def expected_status(example: Curl) -> int:
    collection = example.path.removeprefix(V1).split("?")[0].strip("/").count("/") == 0
    return 201 if example.method == "POST" and collection else 200


def check(example: Curl, documented: Any, body: Any) -> None:
    """The documented shape of the resource, and the example response's own values."""
    resource = resource_of(example.path)
    items = body if isinstance(body, list) else [body]
    assert items, f"{example.path}: nothing to compare"
    shape = SHAPES[resource]
    if resource == "me":
        assert all(UUID.match(items[0][k]) for k in UUID_NOT_INT)
        shape = {k: v for k, v in shape.items() if k not in UUID_NOT_INT}
        items = [{k: v for k, v in items[0].items() if k not in UUID_NOT_INT}]
    for item in items:
        same_shape(item, shape)
    if isinstance(documented, list):
        documented = documented[0]
    for key, value in (documented or {}).items():
        if key not in VARYING:
            assert items[0][key] == value, (example.path, key)


def test_every_curl_example_runs_as_documented(live, tenant, receiver):
    ids = {DOC_HOOK_URL: receiver.url("/temporalist")}
    api = tenant.client
    ids[DOC_CLIENT] = ok(api.post(f"{V1}/clients/", json={"name": "Globex"}), 201)["id"]
    # Time tracked for that client in June 2026, for the invoice example to bill.
    body = {"name": "Globex site", "hourly_rate": "120.00", "client_id": ids[DOC_CLIENT]}
    billed = ok(api.post(f"{V1}/projects/", json=body), 201)
    june = {"start_time": "2026-06-26T09:00:00Z", "end_time": "2026-06-26T11:30:00Z"}
    ok(api.post(f"{V1}/sessions/", json={"project_id": billed["id"], **june}), 201)
    # Doc order, except that the list of running sessions is read while one runs.
    order = list(range(len(EXAMPLES)))
    listing = next(i for i, e in enumerate(EXAMPLES) if "active=true" in e.text)
    order.insert(listing + 1, order.pop(listing))
    for index in order:
        example = with_ids(EXAMPLES[index], ids)
        status, body = run_curl(example, live.url, {DOC_TOKEN: tenant.token})
        assert status == expected_status(example), (example.text, body)
        check(example, RESPONSES[index], body)
        resource = resource_of(example.path)
        if example.method == "POST" and resource == "projects":
            ids["<project id from step 2>"] = ids[DOC_PROJECT] = body["id"]
        elif example.method == "POST" and example.path.endswith("/close/"):
            assert body["is_active"] is False and body["end_time"]
        elif example.method == "POST" and resource == "sessions":
            ids["<session id>"] = ids[DOC_SESSION] = body["id"]
            assert body["is_active"] is True and body["end_time"] is None
        elif example.method == "POST" and resource == "invoices":
            assert body["client_id"] == ids[DOC_CLIENT] and body["status"] == "draft"
            # 2.5 h at 120.00, and 21 % tax on it.
            assert (body["subtotal"], body["tax_amount"], body["total"]) == (
                "300.00",
                "63.00",
                "363.00",
            )
