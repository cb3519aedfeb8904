"""Fixtures for the ledger tests (expenses, outcomes, reports, stats, search, export): an app
whose receipts go to a temporary directory, a book of clients, projects and categories, and a
frozen clock (callers and views of the database are in tests/conftest.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from ledgerkit import Book, make_book
from starlette.testclient import TestClient

from timeledger.server.app import create_app
from timeledger.server.core.clock import set_clock
from timeledger.server.db import Database


@pytest.fixture
def receipts_dir(tmp_path: Path) -> Path:
    return tmp_path / "receipts"


@pytest.fixture
def app(db: Database, receipts_dir: Path) -> FastAPI:
    """The real app, keeping receipts under a temporary directory."""
    return create_app(dataclasses.replace(db.settings, receipts_dir=receipts_dir), database=db)


@pytest.fixture
def book(api: TestClient) -> Book:
    return make_book(api)


@pytest.fixture
def frozen(request: pytest.FixtureRequest) -> Iterator[Callable[..., None]]:
    """Set "now" (core.clock) for the test: frozen(datetime)."""

    def _freeze(now: Any) -> None:
        set_clock(lambda: now)

    yield _freeze
    set_clock(None)
