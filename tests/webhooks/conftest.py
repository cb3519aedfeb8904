"""Fixtures for the webhook tests: an app and a dispatcher allowed to reach the receivers
on 127.0.0.1 over plain http, a receiver per test, and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from timeledger.server.app import create_app
from timeledger.server.core.clock import set_clock
from timeledger.server.db import Database
from timeledger.server.webhooks.deliveries import RetrySchedule
from timeledger.server.worker.dispatcher import Dispatcher

from .hookkit import FakeClock, Receiver, relaxed


@pytest.fixture
def app(db: Database) -> FastAPI:
    """The app with the development relaxations, so receivers on 127.0.0.1 are allowed."""
    return create_app(relaxed(db.settings), database=db)


@pytest.fixture
def strict_app(db: Database) -> FastAPI:
    """The app with the production SSRF rules."""
    return create_app(db.settings, database=db)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver().start()
    yield receiving
    receiving.stop()


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    set_clock(fake)
    yield fake
    set_clock(None)


@pytest.fixture
def dispatcher(db: Database) -> Dispatcher:
    """A relaxed dispatcher with the default schedule minus jitter, so tests know when each
    retry is due."""
    return Dispatcher(db, relaxed(db.settings), schedule=RetrySchedule(jitter=0), timeout=2)
