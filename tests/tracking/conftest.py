"""Fixtures for the time-tracking tests: a movable clock, a catalogue to log time against,
and views of the database read in their own transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from trackkit import FakeClock, Work, make_work

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
def counts(db: Database) -> Callable[[], tuple[int, int]]:
    """(time entry rows, outbox event rows), read in a fresh read transaction."""

    def _counts() -> tuple[int, int]:
        with db.transaction(write=False) as session:
            entries = session.scalar(select(func.count()).select_from(TimeEntry)) or 0
            events = session.scalar(select(func.count()).select_from(OutboxEvent)) or 0
            return entries, events

    return _counts


Events = Callable[..., list[tuple[str, dict[str, Any]]]]


@pytest.fixture
def events(events: Events) -> Events:
    """time_entry.* outbox events (type, data), oldest first, unless given another prefix."""

    def _events(prefix: str = "time_entry.") -> list[tuple[str, dict[str, Any]]]:
        return events(prefix)

    return _events
