"""Delivery, end to end: real API changes, the real outbox, a real dispatcher, and real HTTP
receivers on 127.0.0.1. Time is moved with the clock, never slept through."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from timeledger.server.accounts import keys
from timeledger.server.catalog import service as catalog
from timeledger.server.catalog.schemas import ClientCreate
from timeledger.server.models import OutboxEvent
from timeledger.server.webhooks import service
from timeledger.server.webhooks.deliveries import DEFAULT_DELAYS, RetrySchedule
from timeledger.server.webhooks.schemas import WebhookCreate
from timeledger.server.webhooks.ssrf import TargetPolicy
from timeledger.server.worker.dispatcher import Dispatcher

from .hookkit import (
    V2,
    Receiver,
    Reply,
    clockeye_verify,
    deliveries,
    free_port,
    make_work,
    ok,
    relaxed,
    subscribe,
    temporalist_verify,
)


def create_clients(db, token: str, count: int) -> None:
    """`count` client.created events, committed together, through the real service."""
    with db.transaction(write=True) as session:
        actor = keys.authenticate(session, token).actor
        for n in range(count):
            catalog.create_client(session, actor, ClientCreate(name=f"Client {n}"))


def hook_of(api, hook: dict) -> dict:
    return ok(api.get(f"{V2}/webhooks/{hook['id']}"))


def test_a_delivery_is_a_signed_envelope(api, tenant, dispatcher, receiver):
    hook = subscribe(api, receiver.url(), ["client.created"])
    client = ok(api.post(f"{V2}/clients", json={"name": "Zoë & Co"}), 201)

    assert dispatcher.run_once() == 1

    [received] = receiver.wait_for(1)
    payload = Webhook(hook["secret"]).verify(received.body, received.headers)
    assert set(payload) == {"id", "type", "created_at", "account_id", "data"}
    assert payload["type"] == "client.created"
    assert payload["account_id"] == tenant.account_id
    assert payload["data"]["id"] == client["id"] and payload["data"]["name"] == "Zoë & Co"
    assert datetime.fromisoformat(payload["created_at"]).tzinfo is not None
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"].startswith("timeledger-webhooks/")

    [delivery] = deliveries(api, hook["id"])
    assert received.webhook_id == delivery["id"]
    assert delivery["event_id"] == payload["id"]
    assert (delivery["status"], delivery["attempt_count"], delivery["next_attempt_at"]) == (
        "succeeded",
        1,
        None,
    )
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["response_body"] == "ok" and attempt["duration_ms"] >= 0
    current = hook_of(api, hook)
    assert current["last_status_code"] == 200 and current["failure_count"] == 0
    assert current["last_delivery_at"] == attempt["attempted_at"]
    assert dispatcher.run_once() == 0


@pytest.mark.parametrize("scheme", ["temporalist", "clockeye"])
def test_compatibility_schemes_sign_real_deliveries(db, api, tenant, dispatcher, receiver, scheme):
    with db.transaction(write=True) as session:
        actor = keys.authenticate(session, tenant.token).actor
        command = WebhookCreate(url=receiver.url(), events=["client.created"])
        sub = service.create_subscription(
            session, actor, command, TargetPolicy(True, True), scheme=scheme
        )
        secret = sub.secret
    ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)
    assert dispatcher.run_once() == 1

    [received] = receiver.wait_for(1)
    if scheme == "temporalist":
        signature = received.headers["x-temporalist-signature"]
        assert temporalist_verify(secret, signature, received.body)
        assert not temporalist_verify(secret, signature, received.body[:-1])
    else:
        signature = received.headers["x-clockeye-signature"]
        assert clockeye_verify(received.body, signature, secret)
        assert not clockeye_verify(received.body + b" ", signature, secret)
    assert "webhook-signature" not in received.headers


def test_after_a_rotation_both_secrets_sign_for_24_hours(api, dispatcher, receiver, clock):
    hook = subscribe(api, receiver.url(), ["client.created"])
    rotated = ok(api.post(f"{V2}/webhooks/{hook['id']}/rotate_secret"))
    ok(api.post(f"{V2}/clients", json={"name": "A"}), 201)
    dispatcher.run_once()
    [during] = receiver.wait_for(1)
    Webhook(hook["secret"]).verify(during.body, during.headers)
    Webhook(rotated["secret"]).verify(during.body, during.headers)

    clock.advance(hours=24, seconds=1)
    ok(api.post(f"{V2}/clients", json={"name": "B"}), 201)
    dispatcher.run_once()
    after = receiver.wait_for(2)[1]
    [only] = after.headers["webhook-signature"].split(" ")
    timestamp = datetime.fromtimestamp(int(after.headers["webhook-timestamp"]))
    new = Webhook(rotated["secret"]).sign(after.webhook_id, timestamp, after.body.decode())
    assert only == new


def test_failing_three_times_then_succeeding_delivers_exactly_once_more(
    api, dispatcher, receiver, clock
):
    receiver.reply(500, 500, Reply(status=503, body=b"busy"))
    hook = subscribe(api, receiver.url(), ["client.created"])
    ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)

    assert dispatcher.run_once() == 1  # 500
    clock.advance(seconds=59)
    assert dispatcher.run_once() == 0  # the first retry waits a minute
    for wait in (timedelta(seconds=2), timedelta(minutes=5), timedelta(minutes=30)):
        clock.advance(seconds=wait.total_seconds())
        assert dispatcher.run_once() == 1  # 500, 503, then 200
    clock.advance(days=4)
    assert dispatcher.run_once() == 0

    received = receiver.wait_for(4)
    assert len(received) == 4
    assert len({r.webhook_id for r in received}) == 1  # one delivery, retried
    assert len({r.body for r in received}) == 1
    [delivery] = deliveries(api, hook["id"])
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 503, 200]
    assert delivery["attempts"][2]["response_body"] == "busy"
    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 4)
    current = hook_of(api, hook)
    assert (current["failure_count"], current["last_status_code"]) == (0, 200)


def test_retries_run_out_after_the_schedule(db, api, receiver, clock):
    receiver.default = Reply(status=500)
    hook = subscribe(api, receiver.url(), ["client.created"])
    ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)
    dispatcher = Dispatcher(db, relaxed(db.settings), schedule=RetrySchedule((60, 300), 0))

    for wait in (0, 60, 300):
        clock.advance(seconds=wait)
        assert dispatcher.run_once() == 1
        assert deliveries(api, hook["id"])[0]["status"] in ("pending", "failed")
    clock.advance(days=10)
    assert dispatcher.run_once() == 0

    [delivery] = deliveries(api, hook["id"], status="failed")
    assert (delivery["attempt_count"], delivery["next_attempt_at"]) == (3, None)
    assert hook_of(api, hook)["failure_count"] == 3


def test_the_default_schedule_spans_about_three_days_with_jitter():
    assert sum(DEFAULT_DELAYS) / 86400 == pytest.approx(2.8, abs=0.1)
    schedule = RetrySchedule()
    first = [schedule.after(0) for _ in range(200)]
    assert all(timedelta(seconds=54) <= wait <= timedelta(seconds=66) for wait in first)
    assert len(set(first)) > 100
    assert schedule.after(len(DEFAULT_DELAYS)) is None


def test_a_receiver_down_for_1000_events_gets_all_of_them_when_it_returns(db, api, tenant, clock):
    port = free_port()
    down = Receiver(port=port)  # not started: connections are refused
    hook = subscribe(api, down.url(), ["client.created"])
    create_clients(db, tenant.token, 1000)
    dispatcher = Dispatcher(
        db, relaxed(db.settings), concurrency=100, schedule=RetrySchedule(jitter=0)
    )

    assert dispatcher.run_once() == 1000
    failed = deliveries(api, hook["id"], per_page=1)[0]["attempts"][0]
    assert failed["status_code"] is None and failed["error"].startswith("could not connect")

    receiver = Receiver(port=port).start()
    try:
        clock.advance(minutes=2)
        assert dispatcher.run_once() == 1000
        received = receiver.wait_for(1000)
    finally:
        receiver.stop()
    assert len(received) == 1000
    assert len({r.webhook_id for r in received}) == 1000
    names = {r.json()["data"]["name"] for r in received}
    assert names == {f"Client {n}" for n in range(1000)}
    page = ok(api.get(f"{V2}/webhooks/{hook['id']}/deliveries", params={"status": "succeeded"}))
    assert page["total_entries"] == 1000


def test_a_rolled_back_change_delivers_nothing(db, api, tenant, dispatcher, receiver):
    subscribe(api, receiver.url(), "*")
    work = make_work(api)
    dispatcher.run_once()  # the setup's own events
    before = len(receiver.received)

    entries = [
        {"project_id": work.project_id, "task_id": work.task_id, "hours": 1},
        {"project_id": work.project_id, "task_id": "not-a-task", "hours": 1},
    ]
    failed = api.post(f"{V2}/time_entries/bulk", json={"time_entries": entries})
    assert failed.status_code == 400

    def change_then_fail() -> None:
        with db.transaction(write=True) as session:
            actor = keys.authenticate(session, tenant.token).actor
            catalog.create_client(session, actor, ClientCreate(name="Phantom"))
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        change_then_fail()

    assert dispatcher.run_once() == 0
    assert len(receiver.received) == before
    ok(api.post(f"{V2}/clients", json={"name": "Real"}), 201)
    assert dispatcher.run_once() == 1
    assert receiver.wait_for(before + 1)[-1].json()["data"]["name"] == "Real"


def test_aliases_deliver_timers_as_sessions(api, dispatcher, receiver):
    hook = subscribe(api, receiver.url(), ["session.closed", "session.created"])
    work = make_work(api)
    body = {
        "project_id": work.project_id,
        "task_id": work.task_id,
        "spent_date": datetime.now(UTC).date().isoformat(),
        "is_running": True,
    }
    entry = ok(api.post(f"{V2}/time_entries", json=body), 201)
    ok(api.patch(f"{V2}/time_entries/{entry['id']}/stop"))

    assert dispatcher.run_once() == 2
    received = sorted(receiver.wait_for(2), key=lambda r: r.json()["type"])
    assert [r.json()["type"] for r in received] == ["session.closed", "session.created"]
    assert {r.json()["data"]["id"] for r in received} == {entry["id"]}
    assert received[0].json()["data"]["is_running"] is False
    assert {d["event_type"] for d in deliveries(api, hook["id"])} == {
        "session.created",
        "session.closed",
    }


def test_failing_50_times_over_a_day_disables_the_subscription(db, api, tenant, receiver, clock):
    failing = Receiver().start()
    failing.default = Reply(status=500)
    try:
        hook = subscribe(api, failing.url(), ["client.created"])
        watcher = subscribe(api, receiver.url(), ["webhook.disabled"])
        create_clients(db, tenant.token, 50)
        minutely = Dispatcher(
            db, relaxed(db.settings), concurrency=50, schedule=RetrySchedule((60,) * 5, 0)
        )
        assert minutely.run_once() == 50  # 50 failures within a second: not yet
        clock.advance(hours=23, minutes=59)
        assert minutely.run_once() == 50
        assert hook_of(api, hook)["active"] is True
        assert hook_of(api, hook)["failure_count"] == 100

        clock.advance(minutes=2)
        assert minutely.run_once() == 50  # a day of failures: disabled on the first
        off = hook_of(api, hook)
        assert off["active"] is False and off["disabled_at"] is not None
        assert off["failure_count"] == 150
        waiting = deliveries(api, hook["id"], status="pending", per_page=100)
        assert len(waiting) == 50 and all(d["next_attempt_at"] is None for d in waiting)

        clock.advance(hours=1)
        assert minutely.run_once() == 1  # only the watcher's webhook.disabled
        [notice] = receiver.wait_for(1)
        assert notice.json()["type"] == "webhook.disabled"
        assert notice.json()["data"]["id"] == hook["id"]
        assert "consecutive failed deliveries" in notice.json()["data"]["reason"]
        assert "secret" not in notice.json()["data"]
        assert watcher["secret"] not in notice.body.decode()

        failing.default = Reply(status=204)
        on = ok(api.patch(f"{V2}/webhooks/{hook['id']}", json={"active": True}))
        assert (on["active"], on["failure_count"], on["disabled_at"]) == (True, 0, None)
        assert minutely.run_once() == 50  # what waited is delivered now
        assert len(deliveries(api, hook["id"], status="succeeded", per_page=100)) == 50
    finally:
        failing.stop()


def test_a_switched_off_subscription_holds_its_deliveries(api, dispatcher, receiver, clock):
    receiver.reply(500)
    hook = subscribe(api, receiver.url(), ["client.created"])
    ok(api.post(f"{V2}/clients", json={"name": "First"}), 201)
    assert dispatcher.run_once() == 1
    ok(api.patch(f"{V2}/webhooks/{hook['id']}", json={"active": False}))
    ok(api.post(f"{V2}/clients", json={"name": "While off"}), 201)
    clock.advance(minutes=2)
    assert dispatcher.run_once() == 0
    [held] = deliveries(api, hook["id"])
    assert (held["status"], held["next_attempt_at"]) == ("pending", None)

    ok(api.patch(f"{V2}/webhooks/{hook['id']}", json={"active": True}))
    assert dispatcher.run_once() == 1
    names = [r.json()["data"]["name"] for r in receiver.wait_for(2)]
    assert names == ["First", "First"]  # what happened while off is not delivered


def test_timeouts_redirects_and_long_answers_fail_cleanly(db, api, receiver):
    receiver.reply(
        Reply(delay=1.5),
        Reply(status=302, headers={"Location": "/elsewhere"}),
        Reply(body=b"x" * 100_000),
    )
    hook = subscribe(api, receiver.url(), ["client.created"])
    for name in ("slow", "redirected", "long"):
        ok(api.post(f"{V2}/clients", json={"name": name}), 201)
    impatient = Dispatcher(db, relaxed(db.settings), concurrency=1, timeout=0.5)

    assert impatient.run_once() == 3

    # One at a time (concurrency 1), so the replies went out in this order.
    slow, redirected, long = receiver.wait_for(3)
    assert [r.path for r in (slow, redirected, long)] == ["/hook"] * 3  # nothing followed
    log = {d["id"]: d for d in deliveries(api, hook["id"])}
    timed_out = log[slow.webhook_id]["attempts"][0]
    assert timed_out["error"] == "timed out after 0.5 s" and timed_out["status_code"] is None
    assert 400 <= timed_out["duration_ms"] < 1400
    moved = log[redirected.webhook_id]
    assert moved["status"] == "pending" and moved["last_status_code"] == 302
    answered = log[long.webhook_id]["attempts"][0]
    assert answered["status_code"] == 200 and answered["response_body"] == "x" * 1024


def test_ping_and_redeliver(api, dispatcher, receiver):
    hook = subscribe(api, receiver.url(), ["client.created"])
    queued = ok(api.post(f"{V2}/webhooks/{hook['id']}/ping"), 202)
    assert (queued["event_type"], queued["status"], queued["attempts"]) == (
        "webhook.ping",
        "pending",
        [],
    )
    assert dispatcher.run_once() == 1
    [ping] = receiver.wait_for(1)
    assert ping.json()["type"] == "webhook.ping"
    assert ping.json()["data"] == {"webhook_id": hook["id"]}
    assert ping.webhook_id == queued["id"]

    again = ok(api.post(f"{V2}/webhooks/{hook['id']}/deliveries/{queued['id']}/redeliver"), 202)
    assert (again["status"], again["attempt_count"]) == ("pending", 1)
    assert dispatcher.run_once() == 1
    second = receiver.wait_for(2)[1]
    assert second.webhook_id == ping.webhook_id and second.json() == ping.json()
    done = ok(api.get(f"{V2}/webhooks/{hook['id']}/deliveries/{queued['id']}"))
    assert (done["status"], done["attempt_count"]) == ("succeeded", 2)
    missing = api.post(f"{V2}/webhooks/{hook['id']}/deliveries/nope/redeliver")
    assert missing.status_code == 404

    ok(api.patch(f"{V2}/webhooks/{hook['id']}", json={"active": False}))
    assert api.post(f"{V2}/webhooks/{hook['id']}/ping").status_code == 409


def test_a_delivery_in_flight_cannot_be_redelivered(db, api, receiver):
    hook = subscribe(api, receiver.url(), ["client.created"])
    ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)
    dispatcher = Dispatcher(db, relaxed(db.settings))
    dispatcher.fan_out()
    [job] = dispatcher.exchange([], 10)  # claimed, and (as if) being sent right now
    path = f"{V2}/webhooks/{hook['id']}/deliveries/{job.delivery_id}/redeliver"
    response = api.post(path)
    assert response.status_code == 409 and response.json()["error"] == "in_flight"


def test_secrets_never_reach_logs_events_or_the_delivery_log(db, api, dispatcher, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    hook = subscribe(api, receiver.url(), "*")
    rotated = ok(api.post(f"{V2}/webhooks/{hook['id']}/rotate_secret"))
    ok(api.post(f"{V2}/webhooks/{hook['id']}/ping"), 202)
    ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)
    dispatcher.run_once()
    receiver.wait_for(1)

    secrets = (hook["secret"], rotated["secret"])
    log_page = api.get(f"{V2}/webhooks/{hook['id']}/deliveries").text
    listing = api.get(f"{V2}/webhooks").text
    with db.transaction(write=False) as session:
        events = str([e.data for e in session.scalars(select(OutboxEvent))])
    for secret in secrets:
        for text in (caplog.text, log_page, listing, events):
            assert secret not in text
            assert secret.removeprefix("whsec_") not in text


def test_the_relaxations_are_announced(db, caplog):
    caplog.set_level(logging.WARNING, logger="timeledger.webhooks")
    Dispatcher(db, relaxed(db.settings)).announce()
    Dispatcher(db, replace(db.settings, webhooks_allow_http=False)).announce()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("TIMELEDGER_WEBHOOKS_ALLOW_HTTP=1" in m for m in messages) == 1
    assert sum("TIMELEDGER_WEBHOOKS_ALLOW_PRIVATE=1" in m for m in messages) == 1
    assert all("development and tests only" in m for m in messages)

    caplog.clear()
    Dispatcher(db, replace(db.settings, webhooks_lease=5)).announce()
    [risk] = [r.getMessage() for r in caplog.records]
    assert "TIMELEDGER_WEBHOOKS_LEASE (5 s)" in risk and "a second time" in risk
