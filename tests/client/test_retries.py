"""Retries through a proxy that fails requests on purpose: a retried create never makes a
second row when the failure happened before the server (a dropped connection, a 503 from the
proxy), every attempt of one call carries the same Idempotency-Key, and Retry-After is
honoured."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from clientkit import Account
from faults import AFTER, DROP, Status
from sqlalchemy import func, select

from timeledger.client import AsyncTimeledger, InternalServerError, RateLimitError
from timeledger.server.db import Database
from timeledger.server.tracking.models import TimeEntry

ENTRIES = "/api/v2/time_entries"


def rows(db: Database, account: Account) -> int:
    with db.transaction(write=False) as session:
        count = select(func.count()).select_from(TimeEntry)
        mine = TimeEntry.account_id == uuid.UUID(account.account_id)
        return int(session.scalar(count.where(mine)) or 0)


def posts(proxy) -> list[str]:
    """The Idempotency-Key of each POST that reached the proxy."""
    return [s.headers.get("idempotency-key") for s in proxy.seen if s.method == "POST"]


def body(account: Account, day: str) -> dict:
    return {
        "project_id": account.project_id,
        "task_id": account.task_id,
        "spent_date": day,
        "hours": 1,
    }


def test_a_create_retried_after_failures_before_the_server_is_written_once(db, account, proxy):
    proxy.plan("POST", ENTRIES, DROP, Status(503, {"Retry-After": "0"}))
    with account.client(base_url=proxy.url, backoff=0.01) as client:
        first = client.time_entries.create(**body(account, "2026-06-01"))
        second = client.time_entries.create(**body(account, "2026-06-02"))
    assert rows(db, account) == 2
    keys = posts(proxy)
    assert len(keys) == 4  # dropped, 503, created; created
    assert keys[0] == keys[1] == keys[2] and keys[3] != keys[0]
    assert all(keys) and first.id != second.id


def test_async_retries_share_the_key_too(db, account, proxy):
    proxy.plan("POST", ENTRIES, DROP, Status(502), Status(504))

    async def create() -> None:
        async with AsyncTimeledger(
            api_key=account.token, base_url=proxy.url, backoff=0.01
        ) as client:
            await client.time_entries.create(**body(account, "2026-06-03"))

    asyncio.run(create())
    assert rows(db, account) == 1
    keys = posts(proxy)
    assert len(keys) == 4 and len(set(keys)) == 1


def test_gives_up_after_max_retries(db, account, proxy):
    proxy.plan("POST", ENTRIES, *[Status(503, {"Retry-After": "0"})] * 3)
    with (
        account.client(base_url=proxy.url, max_retries=2) as client,
        pytest.raises(InternalServerError) as failed,
    ):
        client.time_entries.create(**body(account, "2026-06-04"))
    assert failed.value.status == 503
    assert len(posts(proxy)) == 3 and rows(db, account) == 0


def test_retry_after_is_honoured_and_reported(account, proxy):
    proxy.plan("GET", "/api/v2/users/me", Status(429, {"Retry-After": "1"}))
    with account.client(base_url=proxy.url, backoff=0.01) as client:
        started = time.monotonic()
        assert client.users.me().id == account.user_id
        assert time.monotonic() - started >= 1.0  # not the 0.01 s backoff

    proxy.plan("GET", "/api/v2/users/me", Status(429, {"Retry-After": "7"}))
    with (
        account.client(base_url=proxy.url, max_retries=0) as client,
        pytest.raises(RateLimitError) as limited,
    ):
        client.users.me()
    assert (limited.value.status, limited.value.retry_after) == (429, 7.0)


def test_a_create_whose_answer_was_lost_is_not_applied_twice(db, account, proxy):
    proxy.plan("POST", ENTRIES, AFTER(502))
    with account.client(base_url=proxy.url, backoff=0.01) as client:
        client.time_entries.create(**body(account, "2026-06-05"))
    keys = posts(proxy)
    assert len(keys) == 2 and keys[0] == keys[1]  # the same key: the server could tell
    assert rows(db, account) == 1
