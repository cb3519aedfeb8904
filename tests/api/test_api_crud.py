"""Raw HTTP CRUD of every /api/v2 resource: status codes, the Keito wire shape, the list
envelope, filters and ordering, exact money, and the rows really stored in the database."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from v2kit import V2, assert_error, assert_row_matches, assert_wire, db_row, exact, names

from timeledger.server.core.clock import set_clock
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
from timeledger.server.surfaces.native import wire

Refs = dict[str, str]
Body = Callable[[Refs], dict[str, Any]]


@pytest.fixture
def refs(create: Callable[..., dict[str, Any]]) -> Refs:
    """Rows the catalogue resources point at."""
    client = create("clients", name="Client")
    project = create("projects", name="Website")
    task = create("tasks", name="Design")
    person = create("users", email="mia@acme.example", first_name="Mia", last_name="Member")
    return {
        "client": client["id"],
        "project": project["id"],
        "task": task["id"],
        "user": person["id"],
    }


@dataclass(frozen=True)
class Resource:
    path: Callable[[Refs], str]
    model: type[Any]
    out: type[Any]
    create: Body
    created: Body  # expected subset of the create response
    update: dict[str, Any]
    updated: Body  # expected subset of the update response

    def __str__(self) -> str:  # readable test ids
        return self.model.__tablename__


RESOURCES = [
    Resource(
        path=lambda r: "clients",
        model=Client,
        out=wire.ClientOut,
        create=lambda r: {
            "name": "Initech",
            "address": "1 Main St\nSpringfield",
            "currency": "eur",
            "payment_terms": "net_30",
            "payment_days": 30,
            "tax": "19.5",
            "tax2": 2.25,
            "discount": "0.0001",
        },
        created=lambda r: {
            "name": "Initech",
            "address": "1 Main St\nSpringfield",
            "currency": "EUR",
            "payment_terms": "net_30",
            "payment_days": 30,
            "tax": Decimal("19.5"),
            "tax2": Decimal("2.25"),
            "discount": Decimal("0.0001"),
            "is_active": True,
        },
        update={"name": "Initrode", "is_active": False, "tax": None, "payment_terms": "custom"},
        updated=lambda r: {
            "name": "Initrode",
            "is_active": False,
            "tax": None,
            "tax2": Decimal("2.25"),
            "payment_terms": "custom",
        },
    ),
    Resource(
        path=lambda r: "contacts",
        model=Contact,
        out=wire.ContactOut,
        create=lambda r: {
            "client_id": r["client"],
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "Ann.Lee@Example.COM",
            "phone_office": "+1 555 0100",
        },
        created=lambda r: {
            "client": {"id": r["client"], "name": "Client"},
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann.lee@example.com",
            "phone_office": "+1 555 0100",
            "title": None,
        },
        update={"title": "CTO", "last_name": None},
        updated=lambda r: {"title": "CTO", "last_name": None, "first_name": "Ann"},
    ),
    Resource(
        path=lambda r: "projects",
        model=Project,
        out=wire.ProjectOut,
        create=lambda r: {
            "name": "Relaunch",
            "client_id": r["client"],
            "code": "RL-1",
            "bill_by": "Project",
            "hourly_rate": "120.1234",
            "budget_by": "project",
            "budget": 5000,
            "is_fixed_fee": True,
            "fee": "99999999999.9999",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "notes": "Phase 1",
            "currency": "usd",
        },
        created=lambda r: {
            "name": "Relaunch",
            "client": {"id": r["client"], "name": "Client"},
            "code": "RL-1",
            "bill_by": "Project",
            "hourly_rate": Decimal("120.1234"),
            "budget": Decimal("5000"),
            "fee": Decimal("99999999999.9999"),
            "is_fixed_fee": True,
            "is_active": True,
            "is_billable": True,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "currency": "USD",
        },
        update={"name": "Relaunch 2", "is_active": False, "hourly_rate": 99.5, "client_id": None},
        updated=lambda r: {
            "name": "Relaunch 2",
            "is_active": False,
            "hourly_rate": Decimal("99.5"),
            "client": None,
            "code": "RL-1",
        },
    ),
    Resource(
        path=lambda r: "tasks",
        model=Task,
        out=wire.TaskOut,
        create=lambda r: {
            "name": "Review",
            "default_hourly_rate": "80.5",
            "billable_by_default": False,
        },
        created=lambda r: {
            "name": "Review",
            "default_hourly_rate": Decimal("80.5"),
            "billable_by_default": False,
            "is_default": False,
            "is_active": True,
        },
        update={"name": "Code review", "is_active": False, "default_hourly_rate": None},
        updated=lambda r: {"name": "Code review", "is_active": False, "default_hourly_rate": None},
    ),
    Resource(
        path=lambda r: f"projects/{r['project']}/task_assignments",
        model=TaskAssignment,
        out=wire.TaskAssignmentOut,
        create=lambda r: {"task_id": r["task"], "hourly_rate": "75", "budget": 1000.5},
        created=lambda r: {
            "project": {"id": r["project"], "name": "Website"},
            "task": {"id": r["task"], "name": "Design"},
            "billable": True,  # the task's billable_by_default
            "is_active": True,
            "hourly_rate": Decimal("75"),
            "budget": Decimal("1000.5"),
        },
        update={"billable": False, "is_active": False, "hourly_rate": None},
        updated=lambda r: {"billable": False, "is_active": False, "hourly_rate": None},
    ),
    Resource(
        path=lambda r: f"projects/{r['project']}/user_assignments",
        model=UserAssignment,
        out=wire.UserAssignmentOut,
        create=lambda r: {
            "user_id": r["user"],
            "is_project_manager": True,
            "hourly_rate": "150.25",
        },
        created=lambda r: {
            "project": {"id": r["project"], "name": "Website"},
            "user": {"id": r["user"], "name": "Mia Member"},
            "is_project_manager": True,
            "use_default_rates": True,
            "is_active": True,
            "hourly_rate": Decimal("150.25"),
            "budget": None,
        },
        update={"is_project_manager": False, "use_default_rates": False},
        updated=lambda r: {"is_project_manager": False, "use_default_rates": False},
    ),
]


def subset(body: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {key: body.get(key, "<missing>") for key in expected}


@pytest.mark.parametrize("res", RESOURCES, ids=str)
def test_catalogue_crud_round_trip(api, db, refs, res: Resource):
    path = f"{V2}/{res.path(refs)}"
    key = path.rsplit("/", 1)[-1]

    created = api.post(path, json=res.create(refs))
    assert created.status_code == 201, created.text
    body = exact(created)
    assert subset(body, res.created(refs)) == res.created(refs)
    assert_wire(created.json(), res.out)
    assert_row_matches(db, res.model, created.json())

    fetched = api.get(f"{path}/{body['id']}")
    assert fetched.status_code == 200
    assert exact(fetched) == body

    listed = api.get(path)
    assert listed.status_code == 200
    assert body["id"] in [item["id"] for item in listed.json()[key]]

    updated = api.patch(f"{path}/{body['id']}", json=res.update)
    assert updated.status_code == 200, updated.text
    after = exact(updated)
    assert subset(after, res.updated(refs)) == res.updated(refs)
    assert after["created_at"] == body["created_at"]
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(body["updated_at"])
    assert_row_matches(db, res.model, updated.json())

    deleted = api.delete(f"{path}/{body['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": body["id"], "deleted": True}
    assert db_row(db, res.model, body["id"]) is None
    assert_error(api.get(f"{path}/{body['id']}"), 404, "not found")
    assert_error(api.delete(f"{path}/{body['id']}"), 404)


def test_users_crud_and_delete_deactivates(api, db, tenant):
    created = api.post(
        f"{V2}/users",
        json={
            "email": "Mia@Acme.Example",
            "first_name": "Mia",
            "last_name": "Member",
            "role": "manager",
            "user_type": "agent",
            "weekly_capacity": 144000,
            "default_hourly_rate": "100.5",
            "cost_rate": 50,
            "timezone": "Europe/Berlin",
            "is_contractor": True,
        },
    )
    assert created.status_code == 201, created.text
    body = exact(created)
    expected = {
        "email": "mia@acme.example",
        "role": "manager",
        "access_roles": ["manager"],
        "user_type": "agent",
        "weekly_capacity": 144000,
        "default_hourly_rate": Decimal("100.5"),
        "cost_rate": Decimal("50"),
        "timezone": "Europe/Berlin",
        "is_contractor": True,
        "is_active": True,
        "currency": "USD",
        "company": {"id": tenant.account_id, "name": "Acme"},
    }
    assert subset(body, expected) == expected
    assert_wire(created.json(), wire.UserOut)
    assert_row_matches(db, User, created.json())

    assert exact(api.get(f"{V2}/users/{body['id']}")) == body
    assert names(api, "users") == ["mia@acme.example", "owner@acme.example"]

    updated = api.patch(f"{V2}/users/{body['id']}", json={"first_name": "Mila", "role": "admin"})
    assert updated.status_code == 200
    assert subset(updated.json(), {"first_name": "Mila", "role": "admin"}) == {
        "first_name": "Mila",
        "role": "admin",
    }
    assert_row_matches(db, User, updated.json())

    gone = api.delete(f"{V2}/users/{body['id']}")
    assert gone.status_code == 200
    assert gone.json()["id"] == body["id"]
    assert gone.json()["is_active"] is False
    assert db_row(db, User, body["id"]).is_active is False
    # Deactivated, not deleted: still readable, and listed as inactive.
    assert api.get(f"{V2}/users/{body['id']}").json()["is_active"] is False
    assert names(api, "users", is_active="false") == ["mia@acme.example"]
    assert names(api, "users", is_active="true") == ["owner@acme.example"]


def test_users_me_is_the_callers_user_and_follows_every_change(api, tenant):
    """/users/me is rendered once per caller; a change to the user or the company is seen by
    the very next request, as GET /users/{id} sees it."""
    me = api.get(f"{V2}/users/me")
    assert me.headers["content-type"] == "application/json"
    assert exact(me) == exact(api.get(f"{V2}/users/{tenant.user_id}"))
    assert_wire(me.json(), wire.UserOut)
    for path, change in [
        (f"users/{tenant.user_id}", {"first_name": "Olga", "default_hourly_rate": "120.25"}),
        ("company", {"name": "Acme Renamed", "currency": "EUR"}),
    ]:
        assert api.patch(f"{V2}/{path}", json=change).status_code == 200
        me = exact(api.get(f"{V2}/users/me"))
        assert me == exact(api.get(f"{V2}/users/{tenant.user_id}"))
    assert (me["first_name"], me["default_hourly_rate"], me["currency"]) == (
        "Olga",
        Decimal("120.25"),
        "EUR",
    )
    assert me["company"] == {"id": tenant.account_id, "name": "Acme Renamed"}


def test_duplicate_user_email_conflicts(api, create, counts):
    create("users", email="dup@acme.example")
    before = counts()
    response = api.post(f"{V2}/users", json={"email": "DUP@acme.example"})
    assert_error(response, 409, "email")
    assert counts() == before


def test_company_get_and_patch(api, db, tenant, events):
    got = api.get(f"{V2}/company")
    assert got.status_code == 200
    company = got.json()
    assert_wire(company, wire.CompanyOut)
    expected = {
        "id": tenant.account_id,
        "name": "Acme",
        "timezone": "UTC",
        "currency": "USD",
        "week_start_day": "Monday",
        "allow_past_timer_starts": False,
        "default_hourly_rate": None,
    }
    assert subset(company, expected) == expected

    patched = api.patch(
        f"{V2}/company",
        json={
            "name": "Acme GmbH",
            "timezone": "Europe/Berlin",
            "currency": "eur",
            "week_start_day": "Sunday",
            "allow_past_timer_starts": True,
            "default_hourly_rate": "95.125",
        },
    )
    assert patched.status_code == 200, patched.text
    expected = {
        "name": "Acme GmbH",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "week_start_day": "Sunday",
        "allow_past_timer_starts": True,
        "default_hourly_rate": Decimal("95.125"),
    }
    assert subset(exact(patched), expected) == expected
    assert subset(exact(api.get(f"{V2}/company")), expected) == expected
    account = db_row(db, Account, tenant.account_id)
    assert (account.name, account.timezone, account.currency) == (
        "Acme GmbH",
        "Europe/Berlin",
        "EUR",
    )
    assert Decimal(account.settings["default_hourly_rate"]) == Decimal("95.125")
    assert [t for t, _ in events("company.updated")] == ["company.updated"]
    # Users show the company by its new name.
    assert api.get(f"{V2}/users/me").json()["company"] == {
        "id": tenant.account_id,
        "name": "Acme GmbH",
    }


def test_api_key_token_is_shown_once_and_only_its_hash_is_stored(api, db, tenant):
    created = api.post(f"{V2}/api_keys", json={"name": "CI", "scope": "read"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert_wire(body, wire.CreatedApiKeyOut)
    token = body["token"]
    prefix, key_id, secret = token.split("_", 2)
    assert prefix == "tlk"
    assert body["prefix"] == f"tlk_{key_id}"
    expected = {
        "name": "CI",
        "scope": "read",
        "user": {"id": tenant.user_id, "name": "owner@acme.example"},
        "is_active": True,
        "revoked_at": None,
        "expires_at": None,
    }
    assert subset(body, expected) == expected

    row = db_row(db, ApiKey, body["id"])
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str([getattr(row, c.key) for c in row.__table__.columns])

    listed = api.get(f"{V2}/api_keys")
    fetched = api.get(f"{V2}/api_keys/{body['id']}")
    for response in (listed, fetched):
        assert response.status_code == 200
        assert secret not in response.text
        assert "token" not in response.text
    assert [k["name"] for k in listed.json()["api_keys"]] == ["CI", "first key"]
    assert fetched.json() == {k: v for k, v in body.items() if k != "token"}

    revoked = api.delete(f"{V2}/api_keys/{body['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False
    assert revoked.json()["revoked_at"] is not None
    assert db_row(db, ApiKey, body["id"]).revoked_at is not None


# --- lists: envelope, filters, order ---------------------------------------------------------


PAGES = [  # 7 clients, 3 per page, newest first
    (1, {"page": 1, "next_page": 2, "previous_page": None, "names": ["c7", "c6", "c5"]}),
    (2, {"page": 2, "next_page": 3, "previous_page": 1, "names": ["c4", "c3", "c2"]}),
    (3, {"page": 3, "next_page": None, "previous_page": 2, "names": ["c1"]}),
    (4, {"page": 4, "next_page": None, "previous_page": 3, "names": []}),
]


def test_list_envelope_pages(api, create):
    for n in range(1, 8):
        create("clients", name=f"c{n}")

    def link(n: int) -> str:
        return f"/api/v2/clients?is_active=true&per_page=3&page={n}"

    for page, expected in PAGES:
        response = api.get(
            f"{V2}/clients", params={"is_active": "true", "per_page": 3, "page": page}
        )
        assert response.status_code == 200
        body = response.json()
        assert [c["name"] for c in body["clients"]] == expected["names"], page
        assert (body["per_page"], body["total_pages"], body["total_entries"]) == (3, 3, 7)
        assert type(body["total_pages"]) is int
        assert (body["page"], body["next_page"], body["previous_page"]) == (
            expected["page"],
            expected["next_page"],
            expected["previous_page"],
        )
        assert body["links"] == {
            "first": link(1),
            "last": link(3),
            "next": link(expected["next_page"]) if expected["next_page"] else None,
            "previous": link(expected["previous_page"]) if expected["previous_page"] else None,
        }, page


@pytest.mark.parametrize(
    "path",
    ["users", "clients", "contacts", "projects", "tasks", "api_keys", "ASSIGNMENTS"],
)
def test_empty_list_and_default_per_page(api, create, path):
    if path == "ASSIGNMENTS":
        path = f"projects/{create('projects', name='P')['id']}/task_assignments"
    response = api.get(f"{V2}/{path}", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    body = response.json()
    key = path.rsplit("/", 1)[-1]
    expected_total = {"users": 1, "api_keys": 1}.get(key, 0)
    assert len(body[key]) == expected_total
    assert body["total_entries"] == expected_total
    assert body["total_pages"] == expected_total  # 0 when empty, never null
    assert body["per_page"] == 100
    assert body["links"]["next"] is None


@pytest.fixture
def catalogue(create) -> Refs:
    alpha = create("clients", name="Alpha")
    beta = create("clients", name="Beta", is_active=False)
    create("projects", name="A1", client_id=alpha["id"])
    create("projects", name="A2", client_id=alpha["id"], is_active=False)
    create("projects", name="B1", client_id=beta["id"])
    create("projects", name="N1")
    create("contacts", client_id=alpha["id"], first_name="Ann")
    create("contacts", client_id=beta["id"], first_name="Bob")
    create("contacts", client_id=alpha["id"], first_name="Cid")
    create("tasks", name="T-on")
    create("tasks", name="T-off", is_active=False)
    return {"alpha": alpha["id"], "beta": beta["id"]}


FILTERS = [
    ("clients", {}, ["Beta", "Alpha"]),
    ("clients", {"is_active": "true"}, ["Alpha"]),
    ("clients", {"is_active": "false"}, ["Beta"]),
    ("projects", {}, ["N1", "B1", "A2", "A1"]),
    ("projects", {"client_id": "alpha"}, ["A2", "A1"]),
    ("projects", {"client_id": "alpha", "is_active": "true"}, ["A1"]),
    ("projects", {"is_active": "false"}, ["A2"]),
    ("projects", {"client_id": "not-a-uuid"}, []),
    ("projects", {"client_id": "00000000-0000-0000-0000-000000000000"}, []),
    ("contacts", {}, ["Cid", "Bob", "Ann"]),
    ("contacts", {"client_id": "alpha"}, ["Cid", "Ann"]),
    ("contacts", {"client_id": "beta"}, ["Bob"]),
    ("tasks", {}, ["T-off", "T-on"]),
    ("tasks", {"is_active": "true"}, ["T-on"]),
    ("tasks", {"is_active": "false"}, ["T-off"]),
]


def test_list_filters_newest_first(api, catalogue):
    """One catalogue, every filter of the table (newest first in each answer)."""
    for path, query, expected in FILTERS:
        params = {k: catalogue.get(v, v) for k, v in query.items()}
        assert names(api, path, **params) == expected, (path, query)


@pytest.fixture
def clock() -> Iterator[Callable[[datetime], None]]:
    def move(to: datetime) -> None:
        set_clock(lambda: to)

    yield move
    set_clock(None)


T0 = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)  # after the tenant's own rows
SINCE = [
    ("2031-03-01T12:00:00Z", ["new", "old"]),
    ("2031-03-01T13:00:00Z", ["new", "old"]),  # new was created at 13:00, old updated at 14:00
    ("2031-03-01T13:00:01+00:00", ["old"]),
    ("2031-03-01T15:00:00+02:00", ["new", "old"]),  # 13:00Z
    ("2031-03-01T13:30:00", ["old"]),  # naive reads as UTC
    ("2031-03-01T14:00:00.000001Z", []),
]
CHANGE = {
    "clients": {"address": "moved"},
    "tasks": {"default_hourly_rate": 1},
    "projects": {"notes": "changed"},
    "users": {"first_name": "Changed"},
}


@pytest.mark.parametrize("path", CHANGE)
def test_updated_since(api, create, clock, path):
    def make(label: str) -> dict[str, Any]:
        return create(
            path, **({"email": f"{label}@acme.example"} if path == "users" else {"name": label})
        )

    clock(T0)
    old = make("old")
    clock(T0 + timedelta(hours=1))
    make("new")
    clock(T0 + timedelta(hours=2))
    assert api.patch(f"{V2}/{path}/{old['id']}", json=CHANGE[path]).status_code == 200
    for since, expected in SINCE:
        found = [n.split("@")[0] for n in names(api, path, updated_since=since)]
        assert found == expected, since
