"""Fixtures for the time-tracking tests: a movable clock, a catalogue to log time against,
callers of other roles, and views of the database read in their own transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.testclient import TestClient
from trackkit import V2, FakeClock, Work, make_work, ok

from timeledger.server.core.clock import set_clock
from timeledger.server.db import Database
from timeledger.server.models import OutboxEvent, TimeEntry


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """Freeze "now" at trackkit.NOW; tests move it with clock.advance(minutes=...)."""
    fake = FakeClock()
    set_clock(fake)
    try:
        yield fake
    finally:
        set_clock(None)


@pytest.fixture
def work(api: TestClient) -> Work:
    return make_work(api)


@pytest.fixture
def caller(app: FastAPI, api: TestClient) -> Callable[..., TestClient]:
    """A client authenticated as a new user of the tenant with this role; `.user_id` holds
    the user's id."""
    made = 0

    def _caller(role: str, **user: Any) -> TestClient:
        nonlocal made
        made += 1
        body = {"email": f"{role}{made}@acme.example", "role": role, "first_name": role, **user}
        person = ok(api.post(f"{V2}/users", json=body), 201)
        key = ok(
            api.post(
                f"{V2}/api_keys",
                json={"name": f"{role} key", "scope": "write", "user_id": person["id"]},
            ),
            201,
        )
        client = TestClient(
            app,
            base_url="http://testserver",
            raise_server_exceptions=False,
            headers={"Authorization": f"Bearer {key['token']}"},
        )
        client.user_id = person["id"]  # type: ignore[attr-defined]
        return client

    return _caller


@pytest.fixture
def counts(db: Database) -> Callable[[], tuple[int, int]]:
    """(time entry rows, outbox event rows), read in a fresh read transaction."""

    def _counts() -> tuple[int, int]:
        with db.transaction(write=False) as session:
            entries = session.scalar(select(func.count()).select_from(TimeEntry)) or 0
            events = session.scalar(select(func.count()).select_from(OutboxEvent)) or 0
            return entries, events

    return _counts


@pytest.fixture
def events(db: Database) -> Callable[..., list[tuple[str, dict[str, Any]]]]:
    """time_entry.* outbox events (type, data), oldest first."""

    def _events(prefix: str = "time_entry.") -> list[tuple[str, dict[str, Any]]]:
        with db.transaction(write=False) as session:
            stmt = (
                select(OutboxEvent)
                .where(OutboxEvent.type.startswith(prefix))
                .order_by(OutboxEvent.created_at, OutboxEvent.id)
            )
            return [(e.type, e.data) for e in session.scalars(stmt)]

    return _events
