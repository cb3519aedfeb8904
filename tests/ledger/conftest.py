"""Fixtures for the ledger tests (expenses, outcomes, reports, stats, search, export): an app
whose receipts go to a temporary directory, a book of clients, projects and categories, other
callers, and views of the database read in their own transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from ledgerkit import V2, Book, make_book, ok
from sqlalchemy import func, select
from starlette.testclient import TestClient

from timeledger.server.app import create_app
from timeledger.server.core.clock import set_clock
from timeledger.server.db import Database
from timeledger.server.models import OutboxEvent, metadata


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
def caller(app: FastAPI, api: TestClient) -> Callable[..., TestClient]:
    """A client authenticated as a new user of the tenant with this role (`.user_id`)."""
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
def rows(db: Database) -> Callable[[], dict[str, int]]:
    """Rows per table, read in a fresh transaction (equal before and after: nothing written)."""

    def _rows() -> dict[str, int]:
        with db.transaction(write=False) as session:
            return {
                table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in metadata.sorted_tables
                if table.name not in ("api_keys",)
            }

    return _rows


@pytest.fixture
def events(db: Database) -> Callable[..., list[tuple[str, dict[str, Any]]]]:
    """Outbox events (type, data), oldest first, whose type starts with `prefix`."""

    def _events(prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        with db.transaction(write=False) as session:
            stmt = (
                select(OutboxEvent)
                .where(OutboxEvent.type.startswith(prefix))
                .order_by(OutboxEvent.created_at, OutboxEvent.id)
            )
            return [(e.type, e.data) for e in session.scalars(stmt)]

    return _events


@pytest.fixture
def frozen(request: pytest.FixtureRequest) -> Iterator[Callable[..., None]]:
    """Set "now" (core.clock) for the test: frozen(datetime)."""

    def _freeze(now: Any) -> None:
        set_clock(lambda: now)

    yield _freeze
    set_clock(None)
