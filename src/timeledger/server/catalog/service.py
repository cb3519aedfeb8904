"""Rules of the catalogue. Members read it; managers and above change it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from timeledger.server.accounts.models import User
from timeledger.server.catalog.models import (
    Client,
    Contact,
    Project,
    Task,
    TaskAssignment,
    UserAssignment,
)
from timeledger.server.catalog.schemas import (
    ClientCreate,
    ClientUpdate,
    ContactCreate,
    ContactUpdate,
    ProjectCreate,
    ProjectUpdate,
    TaskAssignmentCreate,
    TaskAssignmentUpdate,
    TaskCreate,
    TaskUpdate,
    UserAssignmentCreate,
    UserAssignmentUpdate,
)
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.crud import (
    Page,
    create_and_emit,
    delete_and_emit,
    get_scoped,
    paginate,
    scoped,
    update_and_emit,
)
from timeledger.server.core.errors import Conflict, NotFound, ValidationFailed
from timeledger.server.core.ids import parse_id

EDIT = "changing the catalogue"
GENERAL_TASK = "General"


def _ref(
    session: Session, actor: Actor, model: type[Any], raw_id: str, what: str, field: str
) -> Any:
    """A referenced row named in a command; a missing one is a 400 naming the field, since
    the request itself (not the URL) is what is wrong. Another account's id reads as missing."""
    try:
        return get_scoped(session, model, actor.account_id, parse_id(raw_id), what, field=field)
    except NotFound as exc:
        raise ValidationFailed(
            f"{field} does not name a {what} of this account", field=field
        ) from exc


def _filtered(
    stmt: Any,
    model: Any,
    *,
    is_active: bool | None = None,
    updated_since: datetime | None = None,
    client_id: str | None = None,
) -> Any:
    if is_active is not None:
        stmt = stmt.where(model.is_active == is_active)
    if updated_since is not None:
        stmt = stmt.where(model.updated_at >= updated_since)
    if client_id is not None:
        # An id that is no UUID names no client (not "rows without a client").
        client_uuid = parse_id(client_id)
        stmt = stmt.where(model.client_id == client_uuid if client_uuid else false())
    return stmt.order_by(model.id.desc())


# --- clients --------------------------------------------------------------------------------


def list_clients(
    session: Session, actor: Actor, *, page: int, per_page: int, **filters: Any
) -> Page[Client]:
    stmt = _filtered(scoped(Client, actor.account_id), Client, **filters)
    return paginate(session, stmt, page, per_page)


def get_client(session: Session, actor: Actor, client_id: str) -> Client:
    return get_scoped(session, Client, actor.account_id, parse_id(client_id), "client")


def create_client(session: Session, actor: Actor, command: ClientCreate) -> Client:
    actor.require(Role.manager, EDIT)
    row = Client(account_id=actor.account_id, **command.model_dump())
    return create_and_emit(session, actor, row, "client")


def update_client(session: Session, actor: Actor, client_id: str, command: ClientUpdate) -> Client:
    actor.require(Role.manager, EDIT)
    return update_and_emit(
        session, actor, get_client(session, actor, client_id), command.changes(), "client"
    )


def delete_client(session: Session, actor: Actor, client_id: str) -> None:
    actor.require(Role.manager, EDIT)
    delete_and_emit(session, actor, get_client(session, actor, client_id), "client")


# --- contacts -------------------------------------------------------------------------------


def list_contacts(
    session: Session, actor: Actor, *, page: int, per_page: int, **filters: Any
) -> Page[Contact]:
    stmt = _filtered(scoped(Contact, actor.account_id), Contact, **filters)
    return paginate(session, stmt, page, per_page)


def get_contact(session: Session, actor: Actor, contact_id: str) -> Contact:
    return get_scoped(session, Contact, actor.account_id, parse_id(contact_id), "contact")


def create_contact(session: Session, actor: Actor, command: ContactCreate) -> Contact:
    actor.require(Role.manager, EDIT)
    values = command.model_dump()
    values["client_id"] = _ref(session, actor, Client, command.client_id, "client", "client_id").id
    return create_and_emit(
        session, actor, Contact(account_id=actor.account_id, **values), "contact"
    )


def update_contact(
    session: Session, actor: Actor, contact_id: str, command: ContactUpdate
) -> Contact:
    actor.require(Role.manager, EDIT)
    contact = get_contact(session, actor, contact_id)
    changes = command.changes()
    if "client_id" in changes:
        changes["client_id"] = _ref(
            session, actor, Client, changes["client_id"], "client", "client_id"
        ).id
    return update_and_emit(session, actor, contact, changes, "contact")


def delete_contact(session: Session, actor: Actor, contact_id: str) -> None:
    actor.require(Role.manager, EDIT)
    delete_and_emit(session, actor, get_contact(session, actor, contact_id), "contact")


# --- projects -------------------------------------------------------------------------------


def list_projects(
    session: Session, actor: Actor, *, page: int, per_page: int, **filters: Any
) -> Page[Project]:
    stmt = _filtered(scoped(Project, actor.account_id), Project, **filters)
    return paginate(session, stmt, page, per_page)


def get_project(session: Session, actor: Actor, project_id: str) -> Project:
    return get_scoped(session, Project, actor.account_id, parse_id(project_id), "project")


def create_project(session: Session, actor: Actor, command: ProjectCreate) -> Project:
    actor.require(Role.manager, EDIT)
    values = command.model_dump()
    if command.client_id is not None:
        values["client_id"] = _ref(
            session, actor, Client, command.client_id, "client", "client_id"
        ).id
    project = create_and_emit(
        session, actor, Project(account_id=actor.account_id, **values), "project"
    )
    # Tasks marked is_default join every new project, as in Harvest.
    defaults: list[Task] = list(
        session.scalars(
            scoped(Task, actor.account_id).where(
                Task.is_default.is_(True), Task.is_active.is_(True)
            )
        )
    )
    for task in defaults:
        _assign_task(session, actor, project, task, TaskAssignmentCreate(task_id=str(task.id)))
    return project


def update_project(
    session: Session, actor: Actor, project_id: str, command: ProjectUpdate
) -> Project:
    actor.require(Role.manager, EDIT)
    project = get_project(session, actor, project_id)
    changes = command.changes()
    if changes.get("client_id") is not None:
        changes["client_id"] = _ref(
            session, actor, Client, changes["client_id"], "client", "client_id"
        ).id
    starts_on = changes.get("starts_on", project.starts_on)
    ends_on = changes.get("ends_on", project.ends_on)
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationFailed("ends_on must not be before starts_on", field="ends_on")
    if (
        changes.get("is_fixed_fee", project.is_fixed_fee)
        and changes.get("fee", project.fee) is None
    ):
        raise ValidationFailed("fee is required when is_fixed_fee is true", field="fee")
    return update_and_emit(session, actor, project, changes, "project")


def delete_project(session: Session, actor: Actor, project_id: str) -> None:
    actor.require(Role.manager, EDIT)
    delete_and_emit(session, actor, get_project(session, actor, project_id), "project")


# --- tasks ----------------------------------------------------------------------------------


def list_tasks(
    session: Session, actor: Actor, *, page: int, per_page: int, **filters: Any
) -> Page[Task]:
    stmt = _filtered(scoped(Task, actor.account_id), Task, **filters)
    return paginate(session, stmt, page, per_page)


def get_task(session: Session, actor: Actor, task_id: str) -> Task:
    return get_scoped(session, Task, actor.account_id, parse_id(task_id), "task")


def create_task(session: Session, actor: Actor, command: TaskCreate) -> Task:
    actor.require(Role.manager, EDIT)
    return create_and_emit(
        session, actor, Task(account_id=actor.account_id, **command.model_dump()), "task"
    )


def update_task(session: Session, actor: Actor, task_id: str, command: TaskUpdate) -> Task:
    actor.require(Role.manager, EDIT)
    return update_and_emit(
        session, actor, get_task(session, actor, task_id), command.changes(), "task"
    )


def delete_task(session: Session, actor: Actor, task_id: str) -> None:
    actor.require(Role.manager, EDIT)
    delete_and_emit(session, actor, get_task(session, actor, task_id), "task")


# --- task assignments (project <-> task) ----------------------------------------------------


def list_task_assignments(
    session: Session, actor: Actor, project_id: str, *, page: int, per_page: int, **filters: Any
) -> Page[TaskAssignment]:
    project = get_project(session, actor, project_id)
    stmt = scoped(TaskAssignment, actor.account_id).where(TaskAssignment.project_id == project.id)
    return paginate(session, _filtered(stmt, TaskAssignment, **filters), page, per_page)


def get_task_assignment(
    session: Session, actor: Actor, project_id: str, assignment_id: str
) -> TaskAssignment:
    row: TaskAssignment = _get_assignment(session, actor, TaskAssignment, project_id, assignment_id)
    return row


def _get_assignment(
    session: Session, actor: Actor, model: type[Any], project_id: str, assignment_id: str
) -> Any:
    """An assignment, found only under the project it belongs to."""
    project = get_project(session, actor, project_id)
    what = "task assignment" if model is TaskAssignment else "user assignment"
    row = get_scoped(session, model, actor.account_id, parse_id(assignment_id), what)
    if row.project_id != project.id:
        raise NotFound(what)
    return row


def create_task_assignment(
    session: Session, actor: Actor, project_id: str, command: TaskAssignmentCreate
) -> TaskAssignment:
    actor.require(Role.manager, EDIT)
    project = get_project(session, actor, project_id)
    task = _ref(session, actor, Task, command.task_id, "task", "task_id")
    return _assign_task(session, actor, project, task, command)


def _assign_task(
    session: Session, actor: Actor, project: Project, task: Task, command: TaskAssignmentCreate
) -> TaskAssignment:
    exists = session.scalar(
        select(TaskAssignment.id).where(
            TaskAssignment.project_id == project.id, TaskAssignment.task_id == task.id
        )
    )
    if exists is not None:
        raise Conflict("this task is already assigned to the project", field="task_id")
    values = command.model_dump(exclude={"task_id"})
    if values["billable"] is None:
        values["billable"] = task.billable_by_default
    row = TaskAssignment(
        account_id=actor.account_id, project_id=project.id, task_id=task.id, **values
    )
    return create_and_emit(session, actor, row, "task_assignment")


def has_tasks(session: Session, project: Project) -> bool:
    """Whether any task was ever assigned to the project, archived or not."""
    return (
        session.scalar(
            select(TaskAssignment.id).where(TaskAssignment.project_id == project.id).limit(1)
        )
        is not None
    )


def assign_general_task(session: Session, actor: Actor, project: Project) -> Task:
    """Give a project without tasks the account's "General" task (made once), so clients of
    products that have no tasks (Temporal.ist, AlgaPSA, ClockEye) can log time to it."""
    task = session.scalars(
        scoped(Task, project.account_id)
        .where(Task.name == GENERAL_TASK, Task.is_active.is_(True))
        .order_by(Task.id)
        .limit(1)
    ).first()
    if task is None:
        task = create_and_emit(
            session, actor, Task(account_id=project.account_id, name=GENERAL_TASK), "task"
        )
    row = TaskAssignment(
        account_id=project.account_id,
        project_id=project.id,
        task_id=task.id,
        is_active=True,
        billable=task.billable_by_default,
    )
    create_and_emit(session, actor, row, "task_assignment")
    return task


def update_task_assignment(
    session: Session,
    actor: Actor,
    project_id: str,
    assignment_id: str,
    command: TaskAssignmentUpdate,
) -> TaskAssignment:
    actor.require(Role.manager, EDIT)
    row = get_task_assignment(session, actor, project_id, assignment_id)
    return update_and_emit(session, actor, row, command.changes(), "task_assignment")


def delete_task_assignment(
    session: Session, actor: Actor, project_id: str, assignment_id: str
) -> None:
    actor.require(Role.manager, EDIT)
    row = get_task_assignment(session, actor, project_id, assignment_id)
    delete_and_emit(session, actor, row, "task_assignment")


# --- user assignments (project <-> user) ----------------------------------------------------


def list_user_assignments(
    session: Session, actor: Actor, project_id: str, *, page: int, per_page: int, **filters: Any
) -> Page[UserAssignment]:
    project = get_project(session, actor, project_id)
    stmt = scoped(UserAssignment, actor.account_id).where(UserAssignment.project_id == project.id)
    return paginate(session, _filtered(stmt, UserAssignment, **filters), page, per_page)


def get_user_assignment(
    session: Session, actor: Actor, project_id: str, assignment_id: str
) -> UserAssignment:
    row: UserAssignment = _get_assignment(session, actor, UserAssignment, project_id, assignment_id)
    return row


def create_user_assignment(
    session: Session, actor: Actor, project_id: str, command: UserAssignmentCreate
) -> UserAssignment:
    actor.require(Role.manager, EDIT)
    project = get_project(session, actor, project_id)
    user = _ref(session, actor, User, command.user_id, "user", "user_id")
    exists = session.scalar(
        select(UserAssignment.id).where(
            UserAssignment.project_id == project.id, UserAssignment.user_id == user.id
        )
    )
    if exists is not None:
        raise Conflict("this user is already assigned to the project", field="user_id")
    row = UserAssignment(
        account_id=actor.account_id,
        project_id=project.id,
        user_id=user.id,
        **command.model_dump(exclude={"user_id"}),
    )
    return create_and_emit(session, actor, row, "user_assignment")


def update_user_assignment(
    session: Session,
    actor: Actor,
    project_id: str,
    assignment_id: str,
    command: UserAssignmentUpdate,
) -> UserAssignment:
    actor.require(Role.manager, EDIT)
    row = get_user_assignment(session, actor, project_id, assignment_id)
    return update_and_emit(session, actor, row, command.changes(), "user_assignment")


def delete_user_assignment(
    session: Session, actor: Actor, project_id: str, assignment_id: str
) -> None:
    actor.require(Role.manager, EDIT)
    row = get_user_assignment(session, actor, project_id, assignment_id)
    delete_and_emit(session, actor, row, "user_assignment")
