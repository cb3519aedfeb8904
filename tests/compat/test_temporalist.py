"""The Temporal.ist surface over the one core: sessions are the /api/v2 running timer,
scopes, every error in Temporal.ist's format, the OpenAPI document, and webhook deliveries
verified with the reference document's own Python function."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from compatkit import ok
from temporalist_kit import UUID, V1, json_after, python_function, same_shape

V2 = "/api/v2"
verify = python_function("verify")


@pytest.fixture
def api(tenant):
    return tenant.client


def detail(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"} and body["detail"], body
    return body["detail"]


def field_errors(response, *fields):
    """A 400 keyed by exactly these fields, each with a list of sentences."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == set(fields), body
    assert all(
        isinstance(v, list) and v and all(isinstance(m, str) for m in v) for v in body.values()
    )
    return body


def project(api, **body):
    return ok(api.post(f"{V1}/projects/", json={"name": "Website redesign", **body}), 201)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- one core ---------------------------------------------------------------------------------


def test_a_session_is_the_running_timer_of_api_v2_and_stops_there(api):
    p = project(api)
    started = ok(api.post(f"{V1}/sessions/", json={"project_id": p["id"]}), 201)
    assert UUID.match(started["id"]) and started["is_active"] is True

    [running] = ok(api.get(f"{V2}/time_entries", params={"is_running": "true"}))["time_entries"]
    assert running["id"] == started["id"] and running["project"]["id"] == p["id"]
    # One running timer per user, whichever surface asks for a second.
    assert "running" in detail(api.post(f"{V1}/sessions/", json={"project_id": p["id"]}), 409)

    ok(api.patch(f"{V2}/time_entries/{started['id']}/stop"))
    closed = ok(api.get(f"{V1}/sessions/{started['id']}/"))
    assert closed["is_active"] is False and closed["end_time"] is not None
    again = ok(api.post(f"{V1}/sessions/{started['id']}/close/"))
    assert again == {"detail": "Session is already closed.", "session": closed}


def test_clockeyes_stop_ends_a_temporalist_session(api, tenant):
    p = project(api)
    started = ok(api.post(f"{V1}/sessions/", json={"project_id": p["id"]}), 201)
    ok(api.post("/api/time-entries/stop", headers={"X-API-Key": tenant.token}))
    closed = ok(api.get(f"{V1}/sessions/{started['id']}/"))
    assert closed["is_active"] is False and closed["end_time"] is not None
    assert ok(api.get(f"{V1}/sessions/", params={"active": "true"})) == []


def test_a_timer_started_on_api_v2_is_a_running_session(api):
    p = project(api)
    task = ok(api.post(f"{V2}/tasks", json={"name": "Design"}), 201)
    ok(api.post(f"{V2}/projects/{p['id']}/task_assignments", json={"task_id": task["id"]}), 201)
    today = datetime.now(UTC).date().isoformat()
    body = {"project_id": p["id"], "task_id": task["id"], "spent_date": today, "is_running": True}
    entry = ok(api.post(f"{V2}/time_entries", json=body), 201)

    [session] = ok(api.get(f"{V1}/sessions/", params={"active": "true"}))
    assert session["id"] == entry["id"] and session["project_name"] == "Website redesign"
    assert "running" in detail(api.post(f"{V1}/sessions/", json={"project_id": p["id"]}), 409)
    closed = ok(api.post(f"{V1}/sessions/{entry['id']}/close/"))
    assert closed["is_active"] is False
    assert ok(api.get(f"{V2}/time_entries/{entry['id']}"))["is_running"] is False


# --- sessions ---------------------------------------------------------------------------------


def test_a_completed_session_and_the_list_filters(api):
    a, b = project(api, name="A"), project(api, name="B")
    body = {
        "project_id": a["id"],
        "start_time": "2026-06-26T09:00:00Z",
        "end_time": "2026-06-26T11:30:00+00:00",
        "description": "Kickoff",
        "started_via": "cli-watch",
    }
    done = ok(api.post(f"{V1}/sessions/", json=body), 201)
    assert done["total_seconds"] == 9000 and done["is_active"] is False
    assert (
        done["start_time"] == "2026-06-26T09:00:00Z" and done["end_time"] == "2026-06-26T11:30:00Z"
    )
    assert (done["description"], done["started_via"], done["project_name"]) == (
        "Kickoff",
        "cli-watch",
        "A",
    )
    running = ok(api.post(f"{V1}/sessions/", json={"project_id": b["id"]}), 201)

    def ids(**query):
        return [s["id"] for s in ok(api.get(f"{V1}/sessions/", params=query))]

    assert ids() == [running["id"], done["id"]]  # newest first
    assert ids(active="true") == [running["id"]]
    assert ids(active="false") == [done["id"]]
    assert ids(project_id=a["id"]) == [done["id"]]
    assert ids(project_id=str(uuid.uuid4())) == []
    # The time is the same entry on /api/v2, with the Temporal.ist note as its notes.
    entry = ok(api.get(f"{V2}/time_entries/{done['id']}"))
    assert entry["notes"] == "Kickoff" and entry["hours"] == 2.5


def test_patching_a_session(api):
    a, b = project(api, name="A"), project(api, name="B")
    start = datetime.now(UTC) - timedelta(hours=3)
    body = {
        "project_id": a["id"],
        "start_time": iso(start),
        "end_time": iso(start + timedelta(hours=1)),
    }
    done = ok(api.post(f"{V1}/sessions/", json=body), 201)

    moved = ok(
        api.patch(
            f"{V1}/sessions/{done['id']}/", json={"project_id": b["id"], "description": "Fix"}
        )
    )
    assert (moved["project_id"], moved["project_name"], moved["description"]) == (
        b["id"],
        "B",
        "Fix",
    )
    longer = ok(
        api.patch(
            f"{V1}/sessions/{done['id']}/", json={"end_time": iso(start + timedelta(hours=2))}
        )
    )
    assert longer["total_seconds"] == 7200

    running = ok(api.post(f"{V1}/sessions/", json={"project_id": a["id"]}), 201)
    ended = datetime.now(UTC) + timedelta(seconds=1)
    closed = ok(api.patch(f"{V1}/sessions/{running['id']}/", json={"end_time": iso(ended)}))
    assert closed["is_active"] is False
    assert ok(api.get(f"{V2}/time_entries/{running['id']}"))["is_running"] is False


def test_deleting_a_session(api):
    p = project(api)
    s = ok(api.post(f"{V1}/sessions/", json={"project_id": p["id"]}), 201)
    response = api.delete(f"{V1}/sessions/{s['id']}/")
    assert response.status_code == 204 and response.content == b""
    assert detail(api.get(f"{V1}/sessions/{s['id']}/"), 404) == "Not found."
    assert detail(api.delete(f"{V1}/sessions/{s['id']}/"), 404)


def test_closing_a_running_session_then_again(api):
    p = project(api)
    s = ok(api.post(f"{V1}/sessions/", json={"project_id": p["id"]}), 201)
    closed = ok(api.post(f"{V1}/sessions/{s['id']}/close/"))
    assert set(closed) == set(s) and closed["is_active"] is False and closed["end_time"]
    wrapped = ok(api.post(f"{V1}/sessions/{s['id']}/close/"))
    assert wrapped == {"detail": "Session is already closed.", "session": closed}


# --- projects and clients ---------------------------------------------------------------------


def test_projects(api, other_tenant):
    client = ok(api.post(f"{V1}/clients/", json={"name": "Globex", "hourly_rate": 150}), 201)
    first = project(api, name="First")
    assert (first["is_active"], first["currency"], first["hourly_rate"]) == (False, "USD", None)
    second = project(
        api,
        name="Second",
        is_active=True,
        currency="eur",
        hourly_rate="99.5",
        client_id=client["id"],
    )
    assert (second["currency"], second["hourly_rate"], second["client_id"]) == (
        "EUR",
        "99.50",
        client["id"],
    )
    assert [p["id"] for p in ok(api.get(f"{V1}/projects/"))] == [second["id"], first["id"]]

    patched = ok(
        api.patch(
            f"{V1}/projects/{second['id']}/",
            json={"is_active": False, "hourly_rate": None, "name": "2nd"},
        )
    )
    assert (patched["is_active"], patched["hourly_rate"], patched["name"]) == (False, None, "2nd")
    assert ok(api.get(f"{V1}/projects/{second['id']}/")) == patched
    # Another account's project is not found; so is an id that is no UUID.
    assert detail(other_tenant.client.get(f"{V1}/projects/{first['id']}/"), 404) == "Not found."
    assert detail(api.get(f"{V1}/projects/42/"), 404) == "Not found."


def test_an_inactive_project_still_takes_sessions_and_bills_at_its_rate(api):
    p = project(api, hourly_rate="120.00")
    body = {
        "project_id": p["id"],
        "start_time": "2026-06-26T09:00:00Z",
        "end_time": "2026-06-26T10:30:00Z",
    }
    s = ok(api.post(f"{V1}/sessions/", json=body), 201)
    entry = ok(api.get(f"{V2}/time_entries/{s['id']}"))
    assert entry["billable"] is True and entry["billable_rate"] == 120.0


def test_a_project_without_a_rate_bills_at_its_clients(api):
    client = ok(api.post(f"{V1}/clients/", json={"name": "Globex", "hourly_rate": "150"}), 201)
    p = project(api, client_id=client["id"])
    body = {
        "project_id": p["id"],
        "start_time": "2026-06-26T09:00:00Z",
        "end_time": "2026-06-26T10:00:00Z",
    }
    s = ok(api.post(f"{V1}/sessions/", json=body), 201)
    assert ok(api.get(f"{V2}/time_entries/{s['id']}"))["billable_rate"] == 150.0


def test_clients_are_listed_by_name(api):
    zeta = ok(api.post(f"{V1}/clients/", json={"name": "Zeta", "company": "Zeta AG"}), 201)
    alpha = ok(
        api.post(
            f"{V1}/clients/",
            json={"name": "alpha", "email": "Billing@Alpha.example", "currency": "GBP"},
        ),
        201,
    )
    assert alpha == {
        "id": alpha["id"],
        "name": "alpha",
        "company": "",
        "email": "billing@alpha.example",
        "hourly_rate": None,
        "currency": "GBP",
    }
    assert [c["name"] for c in ok(api.get(f"{V1}/clients/"))] == ["alpha", "Zeta"]
    patched = ok(
        api.patch(
            f"{V1}/clients/{zeta['id']}/", json={"hourly_rate": "150", "email": "a@zeta.example"}
        )
    )
    assert (patched["hourly_rate"], patched["email"], patched["company"]) == (
        "150.00",
        "a@zeta.example",
        "Zeta AG",
    )
    assert ok(api.get(f"{V1}/clients/{zeta['id']}/")) == patched


def test_me(api, tenant):
    me = ok(api.get(f"{V1}/me/"))
    assert me == {
        "user_id": tenant.user_id,
        "email": "owner@acme.example",
        "organisation_id": tenant.account_id,
        "organisation_name": "Acme",
        "api_key_name": "first key",
        "api_key_scope": "write",
    }


# --- invoices ---------------------------------------------------------------------------------


def billed_work(api, client_id: str, day: str, *spans: tuple[str, str]) -> dict:
    """A project of the client at 100.00 an hour, with finished sessions on `day`."""
    p = project(api, name=f"Work {day}", hourly_rate="100", client_id=client_id)
    for start, end in spans:
        body = {
            "project_id": p["id"],
            "start_time": f"{day}T{start}:00Z",
            "end_time": f"{day}T{end}:00Z",
        }
        ok(api.post(f"{V1}/sessions/", json=body), 201)
    return p


def test_invoices_from_tracked_time_add_or_merge_overlaps(api):
    client = ok(api.post(f"{V1}/clients/", json={"name": "Globex"}), 201)
    overlapping = [("09:00", "11:00"), ("10:00", "12:00")]
    billed_work(api, client["id"], "2026-06-01", *overlapping)
    billed_work(api, client["id"], "2026-06-02", *overlapping)

    def day(d, **extra):
        return {
            "client_id": client["id"],
            "period_start": d,
            "period_end": d,
            **extra,
        }

    added = ok(api.post(f"{V1}/invoices/", json=day("2026-06-01")), 201)
    assert (added["subtotal"], added["tax_rate"], added["total"]) == ("400.00", "0.00", "400.00")
    merged = ok(
        api.post(f"{V1}/invoices/", json=day("2026-06-02", overlap_strategy="merge", tax_rate=10)),
        201,
    )
    assert (merged["subtotal"], merged["tax_amount"], merged["total"]) == (
        "300.00",
        "30.00",
        "330.00",
    )
    assert (merged["period_start"], merged["period_end"], merged["paid_date"]) == (
        "2026-06-02",
        "2026-06-02",
        None,
    )
    assert merged["invoice_number"] != added["invoice_number"]
    # Billed time is not billed twice.
    again = api.post(f"{V1}/invoices/", json=day("2026-06-01"))
    field_errors(again, "period_start")


def test_an_invoice_is_sent_then_paid(api):
    client = ok(api.post(f"{V1}/clients/", json={"name": "Globex"}), 201)
    other = ok(api.post(f"{V1}/clients/", json={"name": "Initech"}), 201)
    billed_work(api, client["id"], "2026-06-01", ("09:00", "10:00"))
    billed_work(api, other["id"], "2026-06-01", ("09:00", "10:00"))
    period = {"period_start": "2026-06-01", "period_end": "2026-06-30"}
    invoice = ok(api.post(f"{V1}/invoices/", json={"client_id": client["id"], **period}), 201)
    second = ok(api.post(f"{V1}/invoices/", json={"client_id": other["id"], **period}), 201)

    sent = ok(api.post(f"{V1}/invoices/{invoice['id']}/send/"))
    assert sent["status"] == "sent"
    assert ok(api.post(f"{V1}/invoices/{invoice['id']}/send/"))["status"] == "sent"

    def ids(**query):
        return [i["id"] for i in ok(api.get(f"{V1}/invoices/", params=query))]

    assert ids() == [second["id"], invoice["id"]]
    assert ids(status="sent") == [invoice["id"]] and ids(status="draft") == [second["id"]]
    assert ids(client_id=other["id"]) == [second["id"]] and ids(status="paid") == []

    paid = ok(api.post(f"{V1}/invoices/{invoice['id']}/mark_paid/"))
    assert paid["status"] == "paid" and paid["paid_date"] == datetime.now(UTC).date().isoformat()
    assert ok(api.post(f"{V1}/invoices/{invoice['id']}/mark_paid/")) == paid  # a no-op
    assert ok(api.get(f"{V1}/invoices/{invoice['id']}/")) == paid
    assert ids(status="paid") == [invoice["id"]]
    # Sending is only for drafts and sent invoices; a draft may be marked paid directly.
    assert detail(api.post(f"{V1}/invoices/{invoice['id']}/send/"), 409)
    assert ok(api.post(f"{V1}/invoices/{second['id']}/mark_paid/"))["status"] == "paid"


def test_invoice_bad_input(api):
    body = api.post(f"{V1}/invoices/", json={"period_end": "2026-06-30"})
    # The document's own example of a validation error.
    assert body.json() == {
        "period_start": ["This field is required."],
        "client_id": ["This field is required."],
    }
    client = ok(api.post(f"{V1}/clients/", json={"name": "Globex"}), 201)
    base = {"client_id": client["id"], "period_start": "2026-06-01", "period_end": "2026-06-30"}
    field_errors(api.post(f"{V1}/invoices/", json={**base, "period_start": "June"}), "period_start")
    field_errors(
        api.post(f"{V1}/invoices/", json={**base, "overlap_strategy": "max"}), "overlap_strategy"
    )
    field_errors(api.post(f"{V1}/invoices/", json={**base, "tax_rate": "101"}), "tax_rate")
    field_errors(api.post(f"{V1}/invoices/", json={**base, "project_ids": ["x"]}), "project_ids")
    field_errors(
        api.post(f"{V1}/invoices/", json={**base, "client_id": str(uuid.uuid4())}), "client_id"
    )
    field_errors(api.post(f"{V1}/invoices/", json=base), "period_start")  # nothing to bill
    field_errors(api.get(f"{V1}/invoices/", params={"status": "lost"}), "status")
    detail(api.post(f"{V1}/invoices/{uuid.uuid4()}/send/"), 404)
    assert ok(api.get(f"{V1}/invoices/")) == []


# --- auth and scopes --------------------------------------------------------------------------


def new_key(api, scope: str, name: str = "Zapier") -> dict:
    """A key of the same owner, made through /api/v2 as an admin would."""
    return ok(api.post(f"{V2}/api_keys", json={"name": name, "scope": scope}), 201)


def test_a_read_key_reads_and_may_not_write(http, api):
    p = project(api)
    token = new_key(api, "read")["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert ok(http.get(f"{V1}/me/", headers=headers))["api_key_scope"] == "read"
    assert ok(http.get(f"{V1}/projects/", headers=headers))[0]["id"] == p["id"]
    assert "read-only" in detail(
        http.post(f"{V1}/projects/", json={"name": "X"}, headers=headers), 403
    )
    assert detail(http.patch(f"{V1}/projects/{p['id']}/", json={}, headers=headers), 403)
    assert detail(http.delete(f"{V1}/webhooks/{uuid.uuid4()}/", headers=headers), 403)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer tk_live_nope"},
        {"Authorization": "Basic abc"},
    ],
)
def test_without_a_valid_key_it_is_401(http, tenant, headers):
    response = http.get(f"{V1}/projects/", headers=headers)
    detail(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_key_is_401(http, api):
    key = new_key(api, "read")
    ok(api.delete(f"{V2}/api_keys/{key['id']}"))
    token = key["token"]
    assert "revoked" in detail(
        http.get(f"{V1}/me/", headers={"Authorization": f"Bearer {token}"}), 401
    )


# --- bad input --------------------------------------------------------------------------------


def test_bad_input_is_a_400_keyed_by_field_and_writes_nothing(api):
    p = project(api)
    sessions = f"{V1}/sessions/"
    field_errors(api.post(sessions, json={}), "project_id")
    assert api.post(sessions, json={}).json() == {"project_id": ["This field is required."]}
    field_errors(api.post(sessions, json={"project_id": "nope"}), "project_id")
    field_errors(api.post(sessions, json={"project_id": str(uuid.uuid4())}), "project_id")
    field_errors(
        api.post(sessions, json={"project_id": p["id"], "started_via": "telepathy"}), "started_via"
    )
    field_errors(
        api.post(sessions, json={"project_id": p["id"], "start_time": "yesterday"}), "start_time"
    )
    backwards = {
        "project_id": p["id"],
        "start_time": "2026-06-26T11:00:00Z",
        "end_time": "2026-06-26T09:00:00Z",
    }
    assert (
        "start_time" in field_errors(api.post(sessions, json=backwards), "end_time")["end_time"][0]
    )
    future = {"project_id": p["id"], "start_time": iso(datetime.now(UTC) + timedelta(hours=2))}
    field_errors(api.post(sessions, json=future), "start_time")
    too_long = {
        "project_id": p["id"],
        "start_time": "2026-06-26T00:00:00Z",
        "end_time": "2026-06-28T00:00:00Z",
    }
    field_errors(api.post(sessions, json=too_long), "end_time")
    field_errors(
        api.post(sessions, json={"project_id": p["id"], "description": "x\u0000"}), "description"
    )
    assert ok(api.get(sessions)) == []

    projects = f"{V1}/projects/"
    field_errors(api.post(projects, json={"name": ""}), "name")
    field_errors(api.post(projects, json={"name": "X", "hourly_rate": "-1"}), "hourly_rate")
    field_errors(
        api.post(projects, json={"name": "X", "hourly_rate": "abc", "currency": "XXX"}),
        "hourly_rate",
        "currency",
    )
    field_errors(
        api.post(projects, json={"name": "X", "client_id": str(uuid.uuid4())}), "client_id"
    )
    field_errors(api.post(projects, json={"name": "X", "is_active": "maybe"}), "is_active")
    field_errors(api.patch(f"{projects}{p['id']}/", json={"name": None}), "name")
    field_errors(api.post(f"{V1}/clients/", json={"name": "C", "email": "not-an-email"}), "email")
    field_errors(api.get(sessions, params={"active": "yes"}), "active")
    field_errors(api.get(sessions, params={"project_id": "42"}), "project_id")
    field_errors(
        api.post(
            f"{V1}/webhooks/", json={"event": "session.started", "target_url": "https://x.example"}
        ),
        "event",
    )
    field_errors(
        api.post(f"{V1}/webhooks/", json={"event": "session.closed", "target_url": "ftp://x"}),
        "target_url",
    )
    assert [x["id"] for x in ok(api.get(projects))] == [p["id"]]


def test_malformed_bodies_and_unknown_routes_answer_in_the_same_format(api):
    url = f"{V1}/projects/"
    # Every 400 is keyed by field, as the document says: one about no field under
    # non_field_errors (it was {"detail": ...} for malformed JSON, which Schemathesis caught).
    malformed = b'{"name": '
    body = field_errors(
        api.post(url, content=malformed, headers={"content-type": "application/json"}),
        "non_field_errors",
    )
    assert body["non_field_errors"][0].startswith("JSON parse error")
    assert api.post(url, json=["name"]).json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }
    field_errors(api.post(url), "non_field_errors")
    assert detail(api.get(f"{V1}/nothing/"), 404) == "Not found."
    assert detail(api.get(f"{V1}/projects"), 404) == "Not found."  # the slash is part of the path
    assert detail(api.put(f"{V1}/me/"), 405) == 'Method "PUT" not allowed.'
    huge = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    detail(api.post(url, content=huge, headers={"content-type": "application/json"}), 413)


# --- OpenAPI ----------------------------------------------------------------------------------


def test_the_openapi_document_is_yaml_unless_json_is_asked_for(http):
    as_yaml = http.get(f"{V1}/openapi.json")
    assert as_yaml.status_code == 200 and "yaml" in as_yaml.headers["content-type"]
    doc = yaml.safe_load(as_yaml.text)
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": V1}]
    for path in [
        "/me/",
        "/projects/{id}/",
        "/sessions/{id}/close/",
        "/clients/",
        "/webhooks/{id}/",
    ]:
        assert path in doc["paths"], path
    assert set(doc["paths"]["/sessions/{id}/"]) == {"get", "patch", "delete"}
    as_json = http.get(f"{V1}/openapi.json", params={"format": "json"})
    assert as_json.headers["content-type"] == "application/json" and as_json.json() == doc
    negotiated = http.get(f"{V1}/openapi.json", headers={"Accept": "application/json"})
    assert negotiated.json() == doc


def test_the_explorer_page_points_at_the_json_document(http):
    page = http.get(f"{V1}/docs/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "swagger-ui" in page.text and f"{V1}/openapi.json?format=json" in page.text


# --- webhooks ---------------------------------------------------------------------------------


def test_webhook_subscriptions_belong_to_their_key(db, api, tenant, http, receiver):
    body = {"event": "session.closed", "target_url": receiver.url("/t")}
    hook = ok(api.post(f"{V1}/webhooks/", json=body), 201)
    assert (
        len(hook["secret"]) == 64
        and hook["failure_count"] == 0
        and hook["last_delivery_at"] is None
    )
    assert ok(api.get(f"{V1}/webhooks/")) == [hook]
    assert ok(api.get(f"{V1}/webhooks/{hook['id']}/")) == hook

    other = new_key(api, "write", "Other")["token"]
    as_other = {"Authorization": f"Bearer {other}"}
    assert ok(http.get(f"{V1}/webhooks/", headers=as_other)) == []
    detail(http.get(f"{V1}/webhooks/{hook['id']}/", headers=as_other), 404)
    detail(http.delete(f"{V1}/webhooks/{hook['id']}/", headers=as_other), 404)

    assert api.delete(f"{V1}/webhooks/{hook['id']}/").status_code == 204
    assert ok(api.get(f"{V1}/webhooks/")) == []


def test_deliveries_are_temporalist_envelopes_signed_as_documented(api, receiver, dispatcher):
    events = ["project.created", "session.created", "session.closed"]
    hooks = {
        e: ok(
            api.post(f"{V1}/webhooks/", json={"event": e, "target_url": receiver.url(f"/{e}")}), 201
        )
        for e in events
    }
    p = project(api)
    s = ok(
        api.post(f"{V1}/sessions/", json={"project_id": p["id"], "started_via": "browser-url"}), 201
    )
    closed = ok(api.post(f"{V1}/sessions/{s['id']}/close/"))

    dispatcher.run_once()
    received = {r.path.strip("/"): r for r in receiver.wait_for(3)}
    assert set(received) == set(events)
    example = json_after("POST body")
    for event, delivery in received.items():
        secret = hooks[event]["secret"]
        headers = delivery.headers
        assert verify(secret, headers["x-temporalist-signature"], delivery.body)
        assert not verify(secret, headers["x-temporalist-signature"], delivery.body + b" ")
        assert headers["user-agent"] == "Temporalist-Webhook/1.0"
        assert headers["x-temporalist-event"] == event
        assert headers["content-type"] == "application/json"
        body = delivery.json()
        assert body["event"] == event and body["delivery_id"] == headers["x-temporalist-delivery"]
        assert UUID.match(body["delivery_id"]) and isinstance(body["occurred_at"], int)
        assert set(body) == set(example)
    session_closed = received["session.closed"].json()
    same_shape(session_closed["data"], example["data"])
    data = session_closed["data"]
    assert (data["uuid"], data["project_uuid"], data["project_name"]) == (
        s["id"],
        p["id"],
        "Website redesign",
    )
    assert data["started_via"] == "browser-url" and data["end_time"] is not None
    assert datetime.fromisoformat(data["end_time"]) == datetime.fromisoformat(closed["end_time"])
    created = received["session.created"].json()["data"]
    assert created["uuid"] == s["id"] and created["end_time"] is None
    project_data = received["project.created"].json()["data"]
    assert project_data["uuid"] == p["id"] and project_data["name"] == "Website redesign"
    hook = ok(api.get(f"{V1}/webhooks/{hooks['session.closed']['id']}/"))
    assert hook["last_status_code"] == 200 and hook["last_delivery_at"] is not None


def test_invoice_events_are_delivered_as_temporalist_invoices(api, receiver, dispatcher):
    secrets = {}
    for event in ("invoice.created", "invoice.paid"):
        body = {"event": event, "target_url": receiver.url(f"/{event}")}
        secrets[event] = ok(api.post(f"{V1}/webhooks/", json=body), 201)["secret"]
    client = ok(api.post(f"{V1}/clients/", json={"name": "Globex"}), 201)
    billed_work(api, client["id"], "2026-06-01", ("09:00", "10:30"))
    period = {"period_start": "2026-06-01", "period_end": "2026-06-30", "tax_rate": "21"}
    invoice = ok(api.post(f"{V1}/invoices/", json={"client_id": client["id"], **period}), 201)
    ok(api.post(f"{V1}/invoices/{invoice['id']}/send/"))
    paid = ok(api.post(f"{V1}/invoices/{invoice['id']}/mark_paid/"))

    dispatcher.run_once()
    received = {r.path.strip("/"): r for r in receiver.wait_for(2)}
    for event, delivery in received.items():
        assert verify(secrets[event], delivery.headers["x-temporalist-signature"], delivery.body)
        assert delivery.headers["x-temporalist-event"] == event
        data = delivery.json()["data"]
        assert (data["uuid"], data["client_uuid"]) == (invoice["id"], client["id"])
        assert data["invoice_number"] == invoice["invoice_number"]
        assert (data["subtotal"], data["tax_rate"], data["total"]) == ("150.00", "21.00", "181.50")
    assert received["invoice.created"].json()["data"]["status"] == "draft"
    paid_data = received["invoice.paid"].json()["data"]
    assert (paid_data["status"], paid_data["paid_date"]) == ("paid", paid["paid_date"])


GARBAGE = [
    b"",
    b"null",
    b"1e999",
    b'"text"',
    b"[]",
    b'{"name": {"x": [1]}, "project_id": 7, "start_time": 1, "end_time": "2026-13-45"}',
    b'{"name": "\\u0000", "email": "a@b", "hourly_rate": "NaN", "tax_rate": "Infinity"}',
    b'{"period_start": "2026-02-30", "period_end": "0000-01-01", "client_id": "x"}',
    b"\xff\xfe",
]


def test_no_input_makes_a_5xx_and_every_error_is_in_the_surfaces_format(api, http):
    """Each documented route with each garbage body (and garbage query values), as the owner
    and once without a key."""
    doc = ok(http.get(f"{V1}/openapi.json", params={"format": "json"}))
    p = project(api)
    real = ok(api.post(f"{V1}/sessions/", json={"project_id": p["id"]}), 201)["id"]
    for path, operations in doc["paths"].items():
        for method in operations:
            for id_ in (real, "x" * 300) if "{id}" in path else ("",):
                url = V1 + path.replace("{id}", id_) + "?active=maybe&status=%00&project_id=%ff"
                bodies = GARBAGE if method in ("post", "patch") else [b""]
                calls = [(api, body) for body in bodies] + [(http, bodies[-1])]
                for client, body in calls:
                    response = client.request(
                        method.upper(),
                        url,
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    assert response.status_code < 500, (method, url, body, response.text)
                    if response.status_code >= 400:
                        answer = response.json()
                        assert isinstance(answer, dict) and answer, answer
                        assert set(answer) == {"detail"} or all(
                            isinstance(v, list) for v in answer.values()
                        ), answer
