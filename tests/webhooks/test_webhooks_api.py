"""/api/v2/webhooks: subscriptions, their secrets, validation, roles and ownership."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from timeledger.server.models import OutboxEvent, WebhookSubscription
from timeledger.server.outbox.events import SUBSCRIBABLE
from timeledger.server.surfaces.native import create_native_app
from timeledger.server.webhooks import service

from .hookkit import V2, ok, subscribe

URL = "http://127.0.0.1:9/hook"  # never contacted here: nothing is dispatched


def _events(db, type_: str) -> list[dict]:
    with db.transaction(write=False) as session:
        stmt = select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id)
        rows = session.scalars(stmt).all()  # ids are UUIDv7: in the order they were made
        return [row.data for row in rows]


def _subscription_count(db) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(WebhookSubscription)) or 0


def _key_id(api, token: str) -> str:
    keys = ok(api.get(f"{V2}/api_keys"))["api_keys"]
    [key] = [k for k in keys if token.startswith(k["prefix"] + "_")]
    return str(key["id"])


def test_create_shows_the_secret_once(api, tenant):
    created = subscribe(api, URL, ["time_entry.created", "client.created"], description="CRM")

    assert created["secret"].startswith("whsec_")
    assert created["url"] == URL
    assert created["events"] == ["client.created", "time_entry.created"]
    assert created["description"] == "CRM"
    assert created["active"] is True
    assert created["failure_count"] == 0
    assert created["last_delivery_at"] is None and created["last_status_code"] is None
    assert created["disabled_at"] is None and created["previous_secret_expires_at"] is None
    assert created["api_key_id"] == _key_id(api, tenant.token)

    fetched = ok(api.get(f"{V2}/webhooks/{created['id']}"))
    assert "secret" not in fetched
    assert fetched == {k: v for k, v in created.items() if k != "secret"}
    listed = ok(api.get(f"{V2}/webhooks"))
    assert listed["total_entries"] == 1
    assert listed["webhooks"] == [fetched]


def test_events_are_names_from_the_catalogue_or_star(api, db):
    assert subscribe(api, URL, "*")["events"] == ["*"]
    assert subscribe(api, URL, ["client.created", "*"])["events"] == ["*"]
    assert subscribe(api, URL, ["session.closed", "session.created", "session.closed"])[
        "events"
    ] == ["session.closed", "session.created"]

    for events, message in [
        (["client.created", "client.exploded"], "events: unknown event 'client.exploded'"),
        (["webhook.ping"], "events: unknown event 'webhook.ping'"),
        ([], "events: name at least one event"),
        ("client.created", 'events: must be a list of event names, or "*"'),
        (None, "events:"),
    ]:
        response = api.post(f"{V2}/webhooks", json={"url": URL, "events": events})
        assert response.status_code == 400, (events, response.text)
        assert response.json()["error"] == "invalid_request"
        assert message in response.json()["error_description"]
    missing = api.post(f"{V2}/webhooks", json={"events": "*"})
    assert missing.status_code == 400
    assert missing.json()["error_description"].startswith("url:")
    assert _subscription_count(db) == 3


def test_update_changes_fields_and_announces_them_without_secrets(api, db):
    hook = subscribe(api, URL, ["client.created"])
    updated = ok(
        api.patch(
            f"{V2}/webhooks/{hook['id']}",
            json={"url": URL + "2", "events": ["client.updated"], "description": "new"},
        )
    )
    assert (updated["url"], updated["events"], updated["description"]) == (
        URL + "2",
        ["client.updated"],
        "new",
    )
    off = ok(api.patch(f"{V2}/webhooks/{hook['id']}", json={"active": False}))
    assert off["active"] is False and off["disabled_at"] is None

    for body, field in [({"active": None}, "active"), ({"url": None}, "url")]:
        response = api.patch(f"{V2}/webhooks/{hook['id']}", json=body)
        assert response.status_code == 400
        assert response.json()["error_description"].startswith(f"{field}:")

    announced = _events(db, "webhook.updated")
    assert [sorted(e["changed_fields"]) for e in announced] == [
        ["description", "events", "url"],
        ["is_active"],
    ]
    for data in _events(db, "webhook.created") + announced:
        assert "secret" not in data and "previous_secret" not in data
        assert hook["secret"] not in str(data)


def test_rotate_secret_keeps_the_old_one_for_a_day(api, clock):
    hook = subscribe(api, URL)
    rotated = ok(api.post(f"{V2}/webhooks/{hook['id']}/rotate_secret"))

    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert expires == clock.now + timedelta(hours=24)
    with_secret = ok(api.get(f"{V2}/webhooks/{hook['id']}"))
    assert "secret" not in with_secret


def test_delete_and_not_found(api, other_tenant):
    hook = subscribe(api, URL)
    theirs = subscribe(other_tenant.client, URL)

    assert ok(api.delete(f"{V2}/webhooks/{hook['id']}")) == {"id": hook["id"], "deleted": True}
    for path in (
        f"/webhooks/{hook['id']}",
        f"/webhooks/{theirs['id']}",
        "/webhooks/not-an-id",
        f"/webhooks/{theirs['id']}/deliveries",
    ):
        response = api.get(V2 + path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "not_found", "error_description": "webhook not found"}
    assert api.patch(f"{V2}/webhooks/{theirs['id']}", json={"active": False}).status_code == 404
    assert api.delete(f"{V2}/webhooks/{theirs['id']}").status_code == 404
    assert ok(other_tenant.client.get(f"{V2}/webhooks/{theirs['id']}"))["active"] is True


def test_only_admins_manage_webhooks_and_read_keys_only_read(api):
    hook = subscribe(api, URL)
    member = ok(api.post(f"{V2}/users", json={"email": "m@acme.example", "role": "member"}), 201)
    member_key = ok(
        api.post(f"{V2}/api_keys", json={"name": "m", "scope": "write", "user_id": member["id"]}),
        201,
    )
    as_member = {"Authorization": f"Bearer {member_key['token']}"}
    assert api.get(f"{V2}/webhooks", headers=as_member).status_code == 403
    response = api.post(f"{V2}/webhooks", json={"url": URL, "events": "*"}, headers=as_member)
    assert response.status_code == 403
    assert "admin" in response.json()["error_description"]

    read_key = ok(api.post(f"{V2}/api_keys", json={"name": "r", "scope": "read"}), 201)
    as_reader = {"Authorization": f"Bearer {read_key['token']}"}
    assert ok(api.get(f"{V2}/webhooks", headers=as_reader))["total_entries"] == 1
    rotate = api.post(f"{V2}/webhooks/{hook['id']}/rotate_secret", headers=as_reader)
    assert rotate.status_code == 403


def test_revoking_a_key_removes_the_subscriptions_it_created(api, db):
    mine = subscribe(api, URL)
    other_key = ok(api.post(f"{V2}/api_keys", json={"name": "zapier", "scope": "write"}), 201)
    as_other = {"Authorization": f"Bearer {other_key['token']}"}
    theirs = ok(api.post(f"{V2}/webhooks", json={"url": URL, "events": "*"}, headers=as_other), 201)
    assert theirs["api_key_id"] == other_key["id"]

    ok(api.delete(f"{V2}/api_keys/{other_key['id']}"))

    assert api.get(f"{V2}/webhooks/{theirs['id']}").status_code == 404
    assert ok(api.get(f"{V2}/webhooks"))["webhooks"][0]["id"] == mine["id"]
    assert [e["id"] for e in _events(db, "webhook.deleted")] == [theirs["id"]]


def test_an_account_has_a_bounded_number_of_subscriptions(api, monkeypatch):
    monkeypatch.setattr(service, "MAX_SUBSCRIPTIONS", 2)
    subscribe(api, URL)
    subscribe(api, URL)
    response = api.post(f"{V2}/webhooks", json={"url": URL, "events": "*"})
    assert response.status_code == 409
    assert response.json()["error"] == "limit_reached"


def test_the_event_catalogue_is_in_the_api_docs():
    schema = create_native_app().openapi()
    described = schema["components"]["schemas"]["WebhookCreate"]["properties"]["events"]
    text = described["description"]
    for name in sorted(SUBSCRIBABLE):
        assert name in text
    assert "session.created" in text and "webhook.disabled" in text
    assert "/webhooks/{id}/deliveries/{delivery_id}/redeliver" in schema["paths"]
