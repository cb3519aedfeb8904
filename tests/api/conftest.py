"""Fixtures for the /api/v2 tests: callers of every role, factories that go through the API,
and views of the database (row counts, outbox events) read in their own transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from v2kit import V2, Ids

from timeledger.server.db import Database
from timeledger.server.models import OutboxEvent, metadata


@pytest.fixture
def create(api: TestClient) -> Callable[..., dict[str, Any]]:
    """POST a resource as the owner and return the created body (asserting 201)."""

    def _create(path: str, caller: TestClient | None = None, **body: Any) -> dict[str, Any]:
        response = (caller or api).post(f"{V2}/{path}", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return _create


class As:
    """The tenant's (already running) test client, sending another user's key."""

    def __init__(self, client: TestClient, token: str, user: dict[str, Any], key: dict[str, Any]):
        self.client, self.token, self.user, self.key = client, token, user, key

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.token}"}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)


@pytest.fixture
def caller(api: TestClient, create: Callable[..., dict[str, Any]]) -> Callable[..., As]:
    """A caller that is a new user of the tenant with this role, whose key the owner created
    through the API."""
    made = 0

    def _caller(role: str, scope: str = "write", **user: Any) -> As:
        nonlocal made
        made += 1
        body = {"email": f"{role}{made}@acme.example", "role": role, **user}
        person = create("users", **body)
        key = create("api_keys", name=f"{role} key", scope=scope, user_id=person["id"])
        return As(api, key["token"], person, key)

    return _caller


@pytest.fixture
def counts(db: Database) -> Callable[[], dict[str, int]]:
    """Rows per table, read in a fresh read transaction."""

    def _counts() -> dict[str, int]:
        with db.transaction(write=False) as session:
            return {
                table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in metadata.sorted_tables
            }

    return _counts


@pytest.fixture
def targets(
    create: Callable[..., dict[str, Any]], request: pytest.FixtureRequest
) -> Callable[[], Ids]:
    """`targets()` is a fresh set of ids, each row made through the API when first named
    (so a case makes only what it uses). `foreign_<key>` is the same kind of row made by
    another account (other_tenant)."""
    counter = 0

    def make(key: str, ids: Ids) -> str:
        nonlocal counter
        counter += 1
        n = counter
        if key.startswith("foreign_"):
            other = request.getfixturevalue("other_tenant")
            return foreign(other.client, key.removeprefix("foreign_"))
        project_path = f"projects/{ids['project']}" if "assignment" in key else ""
        made = {
            "client": lambda: create("clients", name=f"Client {n}"),
            "project": lambda: create(
                "projects", name=f"Project {n}", starts_on="2026-01-01", ends_on="2026-06-30"
            ),
            "task": lambda: create("tasks", name=f"Task {n}"),
            "free_task": lambda: create("tasks", name=f"Free task {n}"),
            "user": lambda: create("users", email=f"target{n}@acme.example"),
            "spare": lambda: create("users", email=f"spare{n}@acme.example"),
            "owner2": lambda: create("users", email=f"owner-{n}@acme.example", role="owner"),
            "key": lambda: create("api_keys", name=f"key {n}", user_id=ids["user"]),
            "contact": lambda: create("contacts", client_id=ids["client"], first_name="C"),
            "task_assignment": lambda: create(
                f"{project_path}/task_assignments", task_id=ids["task"]
            ),
            "user_assignment": lambda: create(
                f"{project_path}/user_assignments", user_id=ids["user"]
            ),
        }[key]()
        return str(made["id"])

    def foreign(client: TestClient, kind: str) -> str:
        body = {
            "clients": {"name": "Theirs"},
            "projects": {"name": "Theirs"},
            "tasks": {"name": "Theirs"},
            "users": {"email": f"theirs{counter}@globex.example"},
        }
        response = client.post(f"{V2}/{kind}s", json=body[f"{kind}s"])
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    return lambda: Ids(make)


# A key's use stamp (and with it the row's updated_at) may change on any request, reads too.
UNSTABLE = {("api_keys", "last_used_at"), ("api_keys", "updated_at")}


@pytest.fixture
def state(db: Database) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table (but UNSTABLE columns): equal before and after a request
    means the request wrote nothing."""

    def _state() -> dict[str, list[tuple[Any, ...]]]:
        with db.transaction(write=False) as session:
            result = {}
            for table in metadata.sorted_tables:
                columns = [c for c in table.columns if (table.name, c.name) not in UNSTABLE]
                rows = session.execute(select(*columns)).all()
                result[table.name] = sorted(tuple(map(repr, row)) for row in rows)
            return result

    return _state


@pytest.fixture
def events(db: Database) -> Callable[..., list[tuple[str, dict[str, Any]]]]:
    """Outbox events (type, data), oldest first, optionally of one type."""

    def _events(type: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        with db.transaction(write=False) as session:
            stmt = select(OutboxEvent).order_by(OutboxEvent.id)
            if type is not None:
                stmt = stmt.where(OutboxEvent.type == type)
            return [(e.type, e.data) for e in session.scalars(stmt)]

    return _events
