"""Test fixtures: every test that touches the database runs once on SQLite and once on
PostgreSQL, against a schema built by the real migrations, over the real HTTP stack (httpx
against the ASGI app). Each test starts from empty tables.

PostgreSQL: TIMELEDGER_TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test.
A private database is created for the run and dropped after it. When PostgreSQL does not
answer, its half of the suite is skipped with the reason, unless TIMELEDGER_REQUIRE_POSTGRES=1
(CI), which makes that a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import keito
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from callkit import V2, ok
from timeledger.server import migrate
from timeledger.server.accounts.bootstrap import NewAccount, init_account
from timeledger.server.accounts.schemas import AccountCreate
from timeledger.server.app import create_app
from timeledger.server.config import Settings
from timeledger.server.db import Database
from timeledger.server.models import OutboxEvent, metadata

PG_ADMIN_URL = os.environ.get(
    "TIMELEDGER_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
).replace("postgresql://", "postgresql+psycopg://", 1)
REQUIRE_POSTGRES = os.environ.get("TIMELEDGER_REQUIRE_POSTGRES") == "1"

POSTGRES_UNREACHABLE = "PostgreSQL not reachable"
_ran_on: dict[str, int] = {}
_skipped: dict[str, str] = {}


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return (
            f"{POSTGRES_UNREACHABLE} at {make_url(PG_ADMIN_URL).render_as_string()}: "
            f"{type(exc).__name__}"
        )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for this run, one per engine."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "timeledger.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        yield url
        return
    problem = _postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{problem} (TIMELEDGER_REQUIRE_POSTGRES=1)")
        pytest.skip(problem)
    name = f"tl_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


def settings_for(url: str, **overrides: Any) -> Settings:
    # Background jobs and the in-process webhook dispatcher are off in tests: they are
    # called directly where tested.
    return Settings(
        database_url=url,
        max_concurrency=16,
        background_interval=0,
        webhooks_in_process=False,
        **overrides,
    )


@pytest.fixture(scope="session")
def shared_database(database_url: str) -> Iterator[Database]:
    database = Database(settings_for(database_url))
    yield database
    database.dispose()


@pytest.fixture
def db(shared_database: Database, request: pytest.FixtureRequest) -> Iterator[Database]:
    """The run's database, emptied after the test."""
    engine_name = "sqlite" if shared_database.is_sqlite else "postgresql"
    # Counted from the reports (pytest_runtest_logreport), which reach the controlling
    # process under pytest-xdist too.
    request.node.user_properties.append(("database", engine_name))
    yield shared_database
    _empty(shared_database)


def _empty(database: Database) -> None:
    # DELETE, children first, on both engines: on PostgreSQL a TRUNCATE of every table costs
    # ~0.2-0.3 s (new files for each), a DELETE of a test's few rows a few milliseconds.
    # The audit log refuses DELETE (migration 0009_audit) except as its account's deletion
    # cascades: its rows go with the accounts.
    tables = [t.name for t in reversed(metadata.sorted_tables) if t.name != "audit_log"]
    with database.transaction(write=True) as session:
        for table in tables:
            session.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def app(db: Database) -> FastAPI:
    return create_app(db.settings, database=db)


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    """An unauthenticated client over the real ASGI app."""
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


@dataclass
class Tenant:
    """An account with its owner and a write key, plus a client that sends that key."""

    new: NewAccount
    client: TestClient

    @property
    def account_id(self) -> str:
        return str(self.new.account.id)

    @property
    def user_id(self) -> str:
        return str(self.new.owner.id)

    @property
    def token(self) -> str:
        return self.new.token


def make_tenant(db: Database, app: FastAPI, name: str = "Acme", **account: Any) -> Tenant:
    with db.transaction(write=True) as session:
        new = init_account(
            session,
            AccountCreate(name=name, **account),
            f"owner@{name.lower().replace(' ', '-')}.example",
        )
    client = TestClient(
        app,
        base_url="http://testserver",
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {new.token}"},
    )
    return Tenant(new=new, client=client)


@pytest.fixture
def tenant(db: Database, app: FastAPI) -> Iterator[Tenant]:
    t = make_tenant(db, app)
    with t.client:
        yield t


@pytest.fixture
def other_tenant(db: Database, app: FastAPI) -> Iterator[Tenant]:
    t = make_tenant(db, app, name="Globex")
    with t.client:
        yield t


@pytest.fixture
def api(tenant: Tenant) -> TestClient:
    """The owner's authenticated client for /api/v2."""
    return tenant.client


@pytest.fixture
def sdk(tenant: Tenant) -> keito.Keito:
    """The official Keito SDK, unmodified, talking to the ASGI app."""
    client: httpx.Client = TestClient(tenant.client.app, base_url="http://testserver")
    return keito.Keito(
        api_key=tenant.token,
        account_id=tenant.account_id,
        base_url="http://testserver",
        httpx_client=client,
        max_retries=0,
    )


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
def sql_run(db: Database) -> Callable[[], AbstractContextManager[list[str]]]:
    """`with sql_run() as statements:` every SQL statement the database ran in the block,
    in order (the list may be cleared inside the block to start counting afresh)."""

    @contextmanager
    def watch() -> Iterator[list[str]]:
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)

    return watch


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "setup":
        return
    for name, value in report.user_properties:
        if name == "database":
            _ran_on[value] = _ran_on.get(value, 0) + 1
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2].removeprefix("Skipped: ")
        if reason.startswith(POSTGRES_UNREACHABLE):
            _skipped["postgresql"] = reason


def pytest_terminal_summary(terminalreporter: Any) -> None:
    ran = ", ".join(f"{name} ({count} tests)" for name, count in sorted(_ran_on.items()))
    terminalreporter.write_line(f"databases: {ran or 'none'}")
    for name, reason in _skipped.items():
        terminalreporter.write_line(f"databases skipped: {name}: {reason}")


ROOT = Path(__file__).resolve().parent.parent
