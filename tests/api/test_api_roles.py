"""Roles: members read the catalogue, managers change it, admins manage users, keys and the
company, and only owners make, unmake or disable owners. Every caller below is a real user
with a real key, both made through the API by the account's owner."""

from __future__ import annotations

import pytest
from v2kit import V2, Op, assert_error, call, fill

CATALOGUE_WRITES: list[Op] = [
    ("POST", "clients", {"name": "New"}),
    ("PATCH", "clients/{client}", {"name": "Renamed"}),
    ("DELETE", "clients/{client}", None),
    ("POST", "contacts", {"client_id": "{client}", "first_name": "New"}),
    ("PATCH", "contacts/{contact}", {"title": "Boss"}),
    ("DELETE", "contacts/{contact}", None),
    ("POST", "projects", {"name": "New", "client_id": "{client}"}),
    ("PATCH", "projects/{project}", {"hourly_rate": 10}),
    ("DELETE", "projects/{project}", None),
    ("POST", "tasks", {"name": "New"}),
    ("PATCH", "tasks/{task}", {"is_active": False}),
    ("DELETE", "tasks/{task}", None),
    ("POST", "projects/{project}/task_assignments", {"task_id": "{free_task}"}),
    ("PATCH", "projects/{project}/task_assignments/{task_assignment}", {"billable": False}),
    ("DELETE", "projects/{project}/task_assignments/{task_assignment}", None),
    ("POST", "projects/{project}/user_assignments", {"user_id": "{spare}"}),
    ("PATCH", "projects/{project}/user_assignments/{user_assignment}", {"hourly_rate": 1}),
    ("DELETE", "projects/{project}/user_assignments/{user_assignment}", None),
]

READS: list[Op] = [
    ("GET", path, None)
    for path in (
        "users/me",
        "users",
        "users/{user}",
        "company",
        "clients",
        "clients/{client}",
        "contacts",
        "contacts/{contact}",
        "projects",
        "projects/{project}",
        "tasks",
        "tasks/{task}",
        "projects/{project}/task_assignments",
        "projects/{project}/task_assignments/{task_assignment}",
        "projects/{project}/user_assignments",
        "projects/{project}/user_assignments/{user_assignment}",
    )
]

ADMIN_WRITES: list[Op] = [
    ("POST", "users", {"email": "new@acme.example", "role": "admin"}),
    ("PATCH", "users/{user}", {"first_name": "Renamed", "role": "manager"}),
    ("PATCH", "users/{owner2}", {"first_name": "Renamed"}),  # an owner's profile, not role
    ("DELETE", "users/{user}", None),
    ("GET", "api_keys", None),
    ("GET", "api_keys/{key}", None),
    ("POST", "api_keys", {"name": "new", "user_id": "{user}"}),
    ("DELETE", "api_keys/{key}", None),
    ("PATCH", "company", {"name": "Renamed"}),
]

OWNER_WRITES: list[Op] = [
    ("POST", "users", {"email": "boss@acme.example", "role": "owner"}),
    ("PATCH", "users/{user}", {"role": "owner"}),
    ("PATCH", "users/{owner2}", {"role": "admin"}),
    ("PATCH", "users/{owner2}", {"is_active": False}),
    ("DELETE", "users/{owner2}", None),
    # A key for an owner acts as that owner: minting one is an owner's privilege.
    ("POST", "api_keys", {"name": "as owner", "user_id": "{owner2}"}),
]

SUCCESS = {"POST": 201, "GET": 200, "PATCH": 200, "DELETE": 200}

# role -> which operation groups it may run
ALLOWED = {
    "member": {"reads"},
    "manager": {"reads", "catalogue"},
    "admin": {"reads", "catalogue", "admin"},
    "owner": {"reads", "catalogue", "admin", "owner"},
}
GROUPS = {
    "reads": READS,
    "catalogue": CATALOGUE_WRITES,
    "admin": ADMIN_WRITES,
    "owner": OWNER_WRITES,
}


@pytest.mark.parametrize("role", ["member", "manager", "admin", "owner"])
@pytest.mark.parametrize("group", ["reads", "catalogue", "admin", "owner"])
def test_role_matrix(caller, targets, state, role, group):
    """Every operation of the group: allowed roles succeed, the others get 403 and change
    nothing at all (no row, no field, no event)."""
    client = caller(role)
    allowed = group in ALLOWED[role]
    ids = targets()
    for template in GROUPS[group]:
        op = fill(template, ids)  # makes the rows it names
        before = None if allowed else state()
        response = call(client, op, {})
        if allowed:
            assert response.status_code == SUCCESS[op[0]], (template, response.text)
            if op[0] != "GET":
                ids = targets()  # the next operation gets rows this one has not touched
        else:
            assert_error(response, 403, "requires the")
            assert state() == before, template


@pytest.mark.parametrize(
    "op",
    [
        ("PATCH", "users/{me}", {"role": "admin"}),
        ("PATCH", "users/{me}", {"is_active": False}),
        ("DELETE", "users/{me}", None),
    ],
    ids=["demote", "deactivate", "delete"],
)
@pytest.mark.parametrize("second_owner", [None, "inactive"])
def test_last_active_owner_stays(api, tenant, create, state, op, second_owner):
    if second_owner == "inactive":
        other = create("users", email="o2@acme.example", role="owner")
        assert api.delete(f"{V2}/users/{other['id']}").status_code == 200
    before = state()
    response = call(api, op, {"me": tenant.user_id})
    assert_error(response, 409, "at least one active owner")
    assert state() == before
    me = api.get(f"{V2}/users/me").json()
    assert (me["role"], me["is_active"]) == ("owner", True)


def test_an_owner_can_step_down_once_another_is_active(api, tenant, create, caller):
    create("users", email="o2@acme.example", role="owner")
    response = api.patch(f"{V2}/users/{tenant.user_id}", json={"role": "admin"})
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin"
    # Now an admin: owner-only operations are refused with the new role.
    assert_error(api.post(f"{V2}/users", json={"email": "x@acme.example", "role": "owner"}), 403)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"first_name": "Me", "last_name": "Myself", "timezone": "Europe/Paris"}, 200),
        ({"telephone": "+49 1"}, 200),
        ({"role": "admin"}, 403),
        ({"is_active": False}, 403),
        ({"default_hourly_rate": 500}, 403),
        ({"first_name": "Me", "weekly_capacity": 1}, 403),
    ],
)
def test_members_edit_only_their_own_profile(caller, create, body, status):
    member = caller("member")
    own = member.patch(f"{V2}/users/{member.user['id']}", json=body)
    assert own.status_code == status, own.text
    if status == 200:
        assert {k: own.json()[k] for k in body} == body
    other = create("users", email="someone@acme.example")
    assert_error(member.patch(f"{V2}/users/{other['id']}", json={"first_name": "X"}), 403)
