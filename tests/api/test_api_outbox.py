"""The outbox: each change writes exactly one event, of the right type, carrying the row as
stored, in the change's own transaction; a change that rolls back leaves no event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from v2kit import V2, db_row, fill

from timeledger.server.accounts import keys
from timeledger.server.accounts import service as accounts
from timeledger.server.accounts.schemas import ApiKeyCreate, CompanyUpdate, UserCreate, UserUpdate
from timeledger.server.catalog import schemas
from timeledger.server.catalog import service as catalog
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.types import Fixed
from timeledger.server.models import (
    Account,
    ApiKey,
    Client,
    Contact,
    Project,
    Task,
    TaskAssignment,
    User,
    UserAssignment,
)


def plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def columns_of(row: Any) -> dict[str, Any]:
    return {c.key: plain(getattr(row, c.key)) for c in row.__table__.columns}


def numbers_as_decimals(data: dict[str, Any], model: type[Any]) -> dict[str, Any]:
    """Money columns compared by value: an event may say "7.5" for a stored 7.5000."""
    money = {c.key for c in model.__table__.columns if isinstance(c.type, Fixed)}
    return {k: Decimal(v) if k in money and v is not None else v for k, v in data.items()}


# (method, path, body, event type, model, fields the event must show)
CHANGES: list[tuple[str, str, Any, str, type[Any], dict[str, Any]]] = [
    ("POST", "clients", {"name": "New", "tax": "7.5"}, "client.created", Client, {"tax": "7.5"}),
    ("PATCH", "clients/{client}", {"name": "Re"}, "client.updated", Client, {"name": "Re"}),
    ("DELETE", "clients/{client}", None, "client.deleted", Client, {}),
    (
        "POST",
        "contacts",
        {"client_id": "{client}", "first_name": "Ann"},
        "contact.created",
        Contact,
        {"client_id": "{client}", "first_name": "Ann"},
    ),
    ("PATCH", "contacts/{contact}", {"title": "CEO"}, "contact.updated", Contact, {"title": "CEO"}),
    ("DELETE", "contacts/{contact}", None, "contact.deleted", Contact, {}),
    (
        "POST",
        "projects",
        {"name": "P", "client_id": "{client}", "hourly_rate": "120.1234"},
        "project.created",
        Project,
        {"client_id": "{client}", "hourly_rate": "120.1234"},
    ),
    ("PATCH", "projects/{project}", {"code": "X1"}, "project.updated", Project, {"code": "X1"}),
    ("DELETE", "projects/{project}", None, "project.deleted", Project, {}),
    ("POST", "tasks", {"name": "T"}, "task.created", Task, {"name": "T"}),
    ("PATCH", "tasks/{task}", {"is_active": False}, "task.updated", Task, {"is_active": False}),
    ("DELETE", "tasks/{task}", None, "task.deleted", Task, {}),
    (
        "POST",
        "projects/{project}/task_assignments",
        {"task_id": "{task}"},
        "task_assignment.created",
        TaskAssignment,
        {"project_id": "{project}", "task_id": "{task}"},
    ),
    (
        "PATCH",
        "projects/{project}/task_assignments/{task_assignment}",
        {"budget": 10},
        "task_assignment.updated",
        TaskAssignment,
        {"budget": "10"},
    ),
    (
        "DELETE",
        "projects/{project}/task_assignments/{task_assignment}",
        None,
        "task_assignment.deleted",
        TaskAssignment,
        {},
    ),
    (
        "POST",
        "projects/{project}/user_assignments",
        {"user_id": "{user}"},
        "user_assignment.created",
        UserAssignment,
        {"project_id": "{project}", "user_id": "{user}"},
    ),
    (
        "PATCH",
        "projects/{project}/user_assignments/{user_assignment}",
        {"is_project_manager": True},
        "user_assignment.updated",
        UserAssignment,
        {"is_project_manager": True},
    ),
    (
        "DELETE",
        "projects/{project}/user_assignments/{user_assignment}",
        None,
        "user_assignment.deleted",
        UserAssignment,
        {},
    ),
    ("POST", "users", {"email": "n@acme.example"}, "user.created", User, {"role": "member"}),
    ("PATCH", "users/{user}", {"role": "manager"}, "user.updated", User, {"role": "manager"}),
    ("DELETE", "users/{user}", None, "user.updated", User, {"is_active": False}),
    ("POST", "api_keys", {"name": "k"}, "api_key.created", ApiKey, {"scope": "read"}),
    ("DELETE", "api_keys/{key}", None, "api_key.revoked", ApiKey, {}),
    ("PATCH", "company", {"currency": "EUR"}, "company.updated", Account, {"currency": "EUR"}),
]


@pytest.mark.parametrize("resource", sorted({c[3].split(".")[0] for c in CHANGES}))
def test_each_change_emits_exactly_one_event(api, db, tenant, targets, events, resource):
    """Create, update and delete (or what stands for them) of one resource, each on rows of
    its own."""
    for change in CHANGES:
        if change[3].startswith(f"{resource}."):
            check_one_event(api, db, tenant, targets, events, change)


def check_one_event(api, db, tenant, targets, events, change) -> None:
    method, path, body, type, model, shows = change
    ids = targets()
    path, body, shows = fill(path, ids), fill(body, ids), fill(shows, ids)
    before = events()
    response = api.request(method, f"{V2}/{path}", **({} if body is None else {"json": body}))
    where = f"{method} {path}"
    assert response.status_code in (200, 201), (where, response.text)
    new = events()[len(before) :]
    assert [t for t, _ in new] == [type], where
    data = new[0][1]
    row_id = tenant.account_id if model is Account else response.json()["id"]
    row = db_row(db, model, row_id)
    if type.endswith(".deleted"):
        assert row is None, where
        assert data["id"] == row_id, where
        assert data["account_id"] == tenant.account_id, where
    else:
        stored = columns_of(row)
        if model is ApiKey:
            del stored["secret_hash"]
            assert "secret_hash" not in data, where
        if model is Account:  # bookkeeping of the database's own (credentials.py)
            del stored["credentials_version"]
            assert "credentials_version" not in data, where
        if type.endswith(".updated") and model is not Account and model is not User:
            assert data.pop("changed_fields") == sorted(body), where
        # the event carries the row as committed
        assert numbers_as_decimals(data, model) == numbers_as_decimals(stored, model), where
    shown = numbers_as_decimals({k: data.get(k) for k in shows}, model)
    assert shown == numbers_as_decimals(shows, model), where


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("clients/{client}", {"name": "Client 1"}),  # the name it already has
        ("projects/{project}", {}),
        ("tasks/{task}", {"name": "Task 1", "is_active": True}),
        ("users/{user}", {"role": "member"}),
        ("company", {"timezone": "UTC"}),
    ],
)
def test_a_change_that_changes_nothing_emits_nothing(api, targets, events, state, path, body):
    path = fill(path, targets())
    before_events, before = events(), state()
    response = api.patch(f"{V2}/{path}", json=body)
    assert response.status_code == 200, response.text
    assert events() == before_events
    assert state() == before


def test_a_new_project_announces_its_default_task_assignments(api, create, events):
    create("tasks", name="Admin", is_default=True)
    create("tasks", name="Inactive default", is_default=True, is_active=False)
    before = len(events())
    project = create("projects", name="P")
    new = events()[before:]
    assert [t for t, _ in new] == ["project.created", "task_assignment.created"]
    assert new[1][1]["project_id"] == project["id"]
    listed = api.get(f"{V2}/projects/{project['id']}/task_assignments").json()
    assert [a["task"]["name"] for a in listed["task_assignments"]] == ["Admin"]


# --- rollback: services called inside a transaction that then fails --------------------------


class Boom(Exception):
    pass


def _owner(tenant: Any) -> Actor:
    return Actor(account_id=tenant.new.account.id, user_id=tenant.new.owner.id, role=Role.owner)


SERVICE_CALLS: list[tuple[str, Callable[[Any, Actor, dict[str, str]], Any]]] = [
    ("create client", lambda s, a, i: catalog.create_client(s, a, schemas.ClientCreate(name="X"))),
    (
        "update client",
        lambda s, a, i: catalog.update_client(s, a, i["client"], schemas.ClientUpdate(name="Y")),
    ),
    ("delete client", lambda s, a, i: catalog.delete_client(s, a, i["client"])),
    (
        "create project with default task",
        lambda s, a, i: catalog.create_project(s, a, schemas.ProjectCreate(name="P")),
    ),
    ("delete project", lambda s, a, i: catalog.delete_project(s, a, i["project"])),
    (
        "create user",
        lambda s, a, i: accounts.create_user(s, a, UserCreate(email="z@acme.example")),
    ),
    (
        "update user",
        lambda s, a, i: accounts.update_user(s, a, i["user"], UserUpdate(role="admin")),
    ),
    ("create key", lambda s, a, i: keys.create_key(s, a, ApiKeyCreate(name="k"))),
    ("revoke key", lambda s, a, i: keys.revoke_key(s, a, i["key"])),
    ("update company", lambda s, a, i: accounts.update_company(s, a, CompanyUpdate(name="Z"))),
]


@pytest.mark.parametrize(("what", "run"), SERVICE_CALLS, ids=[c[0] for c in SERVICE_CALLS])
def test_a_rolled_back_change_leaves_no_event(db, tenant, create, targets, state, what, run):
    create("tasks", name="Default", is_default=True)
    ids = targets()
    for key in ("client", "project", "user", "key"):
        assert ids[key]  # made now, before the snapshot
    before = state()
    actor = _owner(tenant)

    def change_then_fail() -> None:
        with db.transaction(write=True) as session:
            run(session, actor, ids)
            session.flush()  # the change and its event reached the database...
            raise Boom  # ...and the transaction fails afterwards

    with pytest.raises(Boom):
        change_then_fail()
    assert state() == before
    # The same call, committed, does write its event (so the test above can fail).
    with db.transaction(write=True) as session:
        run(session, actor, ids)
    assert state()["outbox_events"] != before["outbox_events"]
