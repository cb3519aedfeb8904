"""Deleting: a row something still points at is refused with 409 naming what; rows that
belong to the deleted one (contacts of a client, assignments of a project or task) go with it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from v2kit import V2, assert_error, db_row, fill

from timeledger.server.models import (
    Client,
    Contact,
    Project,
    Task,
    TaskAssignment,
    User,
    UserAssignment,
)


def count(db, model, **where) -> int:
    with db.transaction(write=False) as session:
        stmt = select(func.count()).select_from(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return session.scalar(stmt) or 0


BLOCKED = [  # (what is deleted, what still points at it, words of the 409)
    ("clients/{client}", "projects", "2 projects"),
    ("projects/{project}", "time_entries", "2 time entries"),
    ("tasks/{task}", "time_entries", "2 time entries"),
]


@pytest.mark.parametrize(("path", "blocker", "words"), BLOCKED, ids=[b[0] for b in BLOCKED])
def test_deleting_what_is_still_referenced_is_409(api, create, state, path, blocker, words):
    client = create("clients", name="Busy")
    project = create("projects", name="P", client_id=client["id"])
    task = create("tasks", name="T")
    create(f"projects/{project['id']}/task_assignments", task_id=task["id"])
    if blocker == "projects":
        create("projects", name="P2", client_id=client["id"])
    else:
        for day in ("2026-01-05", "2026-01-06"):
            entry = {"project_id": project["id"], "task_id": task["id"], "spent_date": day}
            create("time_entries", **entry, hours=1)
    ids = {"client": client["id"], "project": project["id"], "task": task["id"]}
    before = state()
    body = assert_error(api.delete(f"{V2}/{fill(path, ids)}"), 409, words)
    assert body["error"] == "still_referenced"
    assert "remove or reassign" in body["error_description"]
    assert state() == before


def test_a_client_can_be_deleted_once_its_projects_are_gone(api, db, create):
    client = create("clients", name="Busy")
    moved = create("projects", name="Moved", client_id=client["id"])
    removed = create("projects", name="Removed", client_id=client["id"])
    assert_error(api.delete(f"{V2}/clients/{client['id']}"), 409, "2 projects")
    assert api.patch(f"{V2}/projects/{moved['id']}", json={"client_id": None}).status_code == 200
    assert_error(api.delete(f"{V2}/clients/{client['id']}"), 409, "1 projects")
    assert api.delete(f"{V2}/projects/{removed['id']}").status_code == 200
    assert api.delete(f"{V2}/clients/{client['id']}").status_code == 200
    assert db_row(db, Client, client["id"]) is None
    assert db_row(db, Project, moved["id"]).client_id is None  # unlinked, not deleted


# (what is deleted, how the row counts change: the row itself and what belongs to it go,
# everything else stays)
CASCADES = [
    ("clients/{client}", {Client: -1, Contact: -2, Project: 0}),
    (
        "projects/{project}",
        {Project: -1, TaskAssignment: -1, UserAssignment: -1, Task: 0, User: 0, Client: 0},
    ),
    ("tasks/{task}", {Task: -1, TaskAssignment: -1, Project: 0}),
]


@pytest.mark.parametrize(("path", "deltas"), CASCADES, ids=[c[0] for c in CASCADES])
def test_deleting_takes_what_belongs_to_it(api, db, create, events, path, deltas):
    client = create("clients", name="C")
    create("clients", name="Unrelated")
    create("contacts", client_id=client["id"], first_name="A")
    create("contacts", client_id=client["id"], first_name="B")
    create("projects", name="Clientless")
    project = create("projects", name="P")
    task = create("tasks", name="T")
    create("tasks", name="Other")
    member = create("users", email="m@acme.example")
    create(f"projects/{project['id']}/task_assignments", task_id=task["id"])
    create(f"projects/{project['id']}/user_assignments", user_id=member["id"])
    ids = {"client": client["id"], "project": project["id"], "task": task["id"]}

    before = {model: count(db, model) for model in deltas}
    before_events = len(events())
    response = api.delete(f"{V2}/{fill(path, ids)}")
    assert response.status_code == 200, response.text
    after = {model: count(db, model) - before[model] for model in deltas}
    assert after == deltas
    # The delete announces one event, for the row it was asked to delete.
    resource = path.split("/")[0].removesuffix("s")
    assert [t for t, _ in events()[before_events:]] == [f"{resource}.deleted"]


def test_deactivating_an_assigned_user_keeps_the_assignment(api, db, create):
    project = create("projects", name="P")
    member = create("users", email="m@acme.example")
    assignment = create(f"projects/{project['id']}/user_assignments", user_id=member["id"])
    response = api.delete(f"{V2}/users/{member['id']}")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert db_row(db, UserAssignment, assignment["id"]) is not None
    listed = api.get(f"{V2}/projects/{project['id']}/user_assignments").json()
    assert [a["user"]["id"] for a in listed["user_assignments"]] == [member["id"]]


@pytest.mark.parametrize("kind", ["task_assignments", "user_assignments"])
def test_assigning_twice_conflicts(api, create, state, kind):
    project = create("projects", name="P")
    body = (
        {"task_id": create("tasks", name="T")["id"]}
        if kind == "task_assignments"
        else {"user_id": create("users", email="m@acme.example")["id"]}
    )
    create(f"projects/{project['id']}/{kind}", **body)
    before = state()
    response = api.post(f"{V2}/projects/{project['id']}/{kind}", json=body)
    assert_error(response, 409, "already assigned")
    assert state() == before


def test_an_assignment_is_found_only_under_its_own_project(api, create):
    first = create("projects", name="First")
    second = create("projects", name="Second")
    task = create("tasks", name="T")
    assignment = create(f"projects/{first['id']}/task_assignments", task_id=task["id"])
    wrong = f"{V2}/projects/{second['id']}/task_assignments/{assignment['id']}"
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"billable": False}} if method == "PATCH" else {}
        assert_error(api.request(method, wrong, **kwargs), 404, "task assignment")
    right = f"{V2}/projects/{first['id']}/task_assignments/{assignment['id']}"
    assert api.get(right).json()["billable"] is True
