"""Fixtures for the compatibility-surface tests: the app with the development relaxations
(webhook receivers on 127.0.0.1 over http), served live for the real curl binary, a
webhook receiver and a dispatcher to drive deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from compatkit import LiveServer
from fastapi import FastAPI

from timeledger.server.app import create_app
from timeledger.server.db import Database
from timeledger.server.webhooks.deliveries import RetrySchedule
from timeledger.server.worker.dispatcher import Dispatcher
from webhooks.hookkit import Receiver, free_port, relaxed


@pytest.fixture
def app(db: Database) -> FastAPI:
    return create_app(relaxed(db.settings), database=db)


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app, free_port()) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver().start()
    yield receiving
    receiving.stop()


@pytest.fixture
def dispatcher(db: Database) -> Dispatcher:
    return Dispatcher(db, relaxed(db.settings), schedule=RetrySchedule(jitter=0), timeout=2)
