"""Idempotency-Key on POST/PATCH/DELETE: a repeat replays the first response (status and body,
`Idempotent-Replayed: true`), a different request under the same key is a 422, one still
running a 409; 50 concurrent identical POSTs make exactly one row; keys are kept 24 hours,
per API key."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from timeledger.server.accounts import keys
from timeledger.server.accounts.keys import Authenticated
from timeledger.server.background import run_jobs_once
from timeledger.server.catalog.models import Client
from timeledger.server.core.clock import set_clock, utcnow
from timeledger.server.db import Database
from timeledger.server.protection.idempotency import ABANDONED_AFTER, claim, fingerprint
from timeledger.server.protection.models import IdempotencyRecord

CLIENTS = "/api/v2/clients"


def count(db: Database, model: type, **where: object) -> int:
    with db.transaction(write=False) as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(session.scalar(query) or 0)


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_a_repeat_replays_the_first_response(db, api):
    first = api.post(CLIENTS, json={"name": "Once"}, headers=key("k-1"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = api.post(CLIENTS, json={"name": "Once"}, headers=key("k-1"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"]
    assert count(db, Client) == 1


def test_patch_and_delete_are_replayed_too(db, api):
    made = api.post(CLIENTS, json={"name": "Before"}).json()
    path = f"{CLIENTS}/{made['id']}"
    renamed = api.patch(path, json={"name": "After"}, headers=key("rename"))
    assert renamed.status_code == 200
    api.patch(path, json={"name": "Third"})  # a change in between, without a key
    replayed = api.patch(path, json={"name": "After"}, headers=key("rename"))
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["name"] == "After"
    assert api.get(path).json()["name"] == "Third"  # not applied again
    deleted = api.delete(path, headers=key("remove"))
    assert deleted.status_code == 200, deleted.text
    again = api.delete(path, headers=key("remove"))
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")


def test_the_same_key_for_another_request_is_a_422(db, api):
    assert api.post(CLIENTS, json={"name": "A"}, headers=key("shared")).status_code == 201
    reused = api.post(CLIENTS, json={"name": "B"}, headers=key("shared"))
    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"
    other_path = api.post("/api/v2/tasks", json={"name": "A"}, headers=key("shared"))
    assert other_path.status_code == 422
    assert count(db, Client) == 1


def test_a_repeat_while_the_first_runs_is_a_409(db, api, tenant):
    caller = caller_of(db, tenant)
    body = b'{"name": "Slow"}'
    with db.transaction(write=True) as session:  # the first request's claim, still running
        request = fingerprint("POST", CLIENTS, b"", body)
        assert claim(session, caller, "busy", request).record_id is not None
    busy = api.post(
        CLIENTS, content=body, headers={**key("busy"), "Content-Type": "application/json"}
    )
    assert busy.status_code == 409
    assert busy.json()["error"] == "idempotency_key_in_use"
    assert count(db, Client) == 0


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(db, api, tenant):
    with db.transaction(write=True) as session:  # a process died while running this request
        request = fingerprint("POST", CLIENTS, b"", b'{"name": "Retried"}')
        assert claim(session, caller_of(db, tenant), "orphan", request).record_id is not None
    later = utcnow() + ABANDONED_AFTER + timedelta(seconds=1)
    set_clock(lambda: later)
    try:
        retried = api.post(
            CLIENTS,
            content=b'{"name": "Retried"}',
            headers={**key("orphan"), "Content-Type": "application/json"},
        )
    finally:
        set_clock(None)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert count(db, Client) == 1 and count(db, IdempotencyRecord, status_code=201) == 1


def test_client_errors_are_kept_and_replayed(db, api):
    bad = api.post(CLIENTS, json={"name": ""}, headers=key("bad"))
    assert bad.status_code == 400
    again = api.post(CLIENTS, json={"name": ""}, headers=key("bad"))
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (400, "true")
    assert again.json() == bad.json()


def test_key_length_is_bounded(db, api):
    too_long = api.post(CLIENTS, json={"name": "X"}, headers=key("k" * 256))
    assert too_long.status_code == 400
    assert "Idempotency-Key" in too_long.json()["error_description"]
    assert api.post(CLIENTS, json={"name": "X"}, headers=key("k" * 255)).status_code == 201
    assert count(db, Client) == 1


def test_keys_belong_to_one_api_key(db, api, other_tenant):
    mine = api.post(CLIENTS, json={"name": "Same"}, headers=key("common"))
    theirs = other_tenant.client.post(CLIENTS, json={"name": "Same"}, headers=key("common"))
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert count(db, IdempotencyRecord) == 2


def test_reads_and_unauthenticated_writes_keep_nothing(db, api, http):
    assert api.get(CLIENTS, headers=key("read")).status_code == 200
    anonymous = http.post(CLIENTS, json={"name": "X"}, headers=key("anon"))
    assert anonymous.status_code == 401
    assert count(db, IdempotencyRecord) == 0


def test_keys_expire_after_24_hours(db, api):
    assert api.post(CLIENTS, json={"name": "Day one"}, headers=key("daily")).status_code == 201
    tomorrow = utcnow() + timedelta(hours=24, seconds=1)
    set_clock(lambda: tomorrow)
    try:
        again = api.post(CLIENTS, json={"name": "Day one"}, headers=key("daily"))
        assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
        assert count(db, Client) == 2
        later = tomorrow + timedelta(hours=24, seconds=1)
        set_clock(lambda: later)
        run_jobs_once(db)  # the periodic job forgets expired keys
        assert count(db, IdempotencyRecord) == 0
    finally:
        set_clock(None)


def test_fifty_concurrent_identical_posts_make_one_row(db, app, tenant):
    async def post_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {tenant.token}", **key("burst")}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            return list(
                await asyncio.gather(
                    *(client.post(CLIENTS, json={"name": "Burst"}) for _ in range(50))
                )
            )

    responses = asyncio.run(post_all())
    assert count(db, Client) == 1
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    ran = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
    assert len(ran) == 1
    made = ran[0].json()["id"]
    assert all(r.json()["id"] == made for r in responses if r.status_code == 201)
    assert count(db, IdempotencyRecord) == 1


# --- helpers -----------------------------------------------------------------------------------


def caller_of(db: Database, tenant: object) -> Authenticated:
    with db.transaction(write=False) as session:
        return keys.authenticate(session, tenant.new.token)  # type: ignore[attr-defined]
