"""Clients, contacts, projects (with their task and user assignments) and tasks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, Literal, Required, TypedDict, TypeVar, Unpack

from timeledger.client._errors import NotFoundError, ValidationError
from timeledger.client._http import Call
from timeledger.client._model import Model
from timeledger.client.models import (
    Client,
    Contact,
    Deleted,
    Project,
    Task,
    TaskAssignment,
    UserAssignment,
)
from timeledger.client.pagination import Listing, every
from timeledger.client.resources._base import IO, Collection, Resource, fetch, listing, operation

Money = Decimal | int | str
PaymentTerms = Literal["upon_receipt", "net_15", "net_30", "net_45", "net_60", "custom"]
M = TypeVar("M", bound=Model)


def is_id(ref: str) -> bool:
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True


def pick(kind: str, ref: str, rows: Sequence[M], names: Callable[[M], Sequence[str | None]]) -> M:
    """The one row `ref` names: by exact name (or code), else case-insensitively; active rows
    win a tie. NotFoundError for none, ValidationError when still ambiguous."""
    exact, loose = ref.strip(), ref.strip().casefold()
    matchers: tuple[Callable[[str], bool], ...] = (
        lambda name: name == exact,
        lambda name: name.casefold() == loose,
    )
    for same in matchers:
        found = [row for row in rows if any(n and same(n) for n in names(row))]
        if len(found) > 1:
            found = [row for row in found if getattr(row, "is_active", True)] or found
        if len(found) == 1:
            return found[0]
        if found:
            choices = ", ".join(f"{names(row)[-1]} ({getattr(row, 'id', '?')})" for row in found)
            raise ValidationError(
                f"{kind} {ref!r} is ambiguous: {choices}; use the id",
                code="ambiguous",
                field=kind,
            )
    raise NotFoundError(f"no {kind} named {ref!r}", code="not_found")


class _ClientFields(TypedDict, total=False):
    address: str | None
    currency: str | None
    payment_terms: PaymentTerms | None
    payment_days: int | None
    tax: Money | None
    tax2: Money | None
    discount: Money | None
    is_active: bool


class ClientCreate(_ClientFields, total=False):
    name: Required[str]


class ClientUpdate(_ClientFields, total=False):
    name: str


class Clients(Collection[IO, Client]):
    path, key, model = "/clients", "clients", Client

    @listing
    def list(
        self,
        *,
        is_active: bool | None = None,
        updated_since: datetime | None = None,
        per_page: int | None = None,
    ) -> Listing[Client]:
        return self._listing(is_active=is_active, updated_since=updated_since, per_page=per_page)

    @operation
    def create(self, **fields: Unpack[ClientCreate]) -> Call[Client]:
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[ClientUpdate]) -> Call[Client]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[Deleted]:
        return (yield from self._delete(id))

    @operation
    def resolve(self, ref: str) -> Call[Client]:
        """The client `ref` names: its id, or its name."""
        if is_id(ref):
            return (yield from fetch(Client, "GET", f"/clients/{ref}"))
        rows = yield from every(self._listing(per_page=2000))
        return pick("client", ref, rows, lambda c: (c.name,))


class _ContactFields(TypedDict, total=False):
    last_name: str | None
    title: str | None
    email: str | None
    phone_office: str | None
    phone_mobile: str | None
    fax: str | None


class ContactCreate(_ContactFields, total=False):
    client_id: Required[str]
    first_name: Required[str]


class ContactUpdate(_ContactFields, total=False):
    client_id: str
    first_name: str


class Contacts(Collection[IO, Contact]):
    path, key, model = "/contacts", "contacts", Contact

    @listing
    def list(
        self,
        *,
        client_id: str | None = None,
        updated_since: datetime | None = None,
        per_page: int | None = None,
    ) -> Listing[Contact]:
        return self._listing(client_id=client_id, updated_since=updated_since, per_page=per_page)

    @operation
    def create(self, **fields: Unpack[ContactCreate]) -> Call[Contact]:
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[ContactUpdate]) -> Call[Contact]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[Deleted]:
        return (yield from self._delete(id))


class _ProjectFields(TypedDict, total=False):
    client_id: str | None
    code: str | None
    is_active: bool
    is_billable: bool
    is_fixed_fee: bool
    bill_by: Literal["Project", "Tasks", "People", "none"]
    hourly_rate: Money | None
    fee: Money | None
    budget_by: Literal["project", "project_cost", "task", "task_fees", "person", "none"]
    budget: Money | None
    budget_is_monthly: bool
    notify_when_over_budget: bool
    over_budget_notification_percentage: Money | None
    show_budget_to_all: bool
    cost_budget: Money | None
    cost_budget_include_expenses: bool
    currency: str | None
    starts_on: date | None
    ends_on: date | None
    notes: str | None


class ProjectCreate(_ProjectFields, total=False):
    name: Required[str]


class ProjectUpdate(_ProjectFields, total=False):
    name: str


class _AssignmentFields(TypedDict, total=False):
    is_active: bool
    hourly_rate: Money | None
    budget: Money | None


class TaskAssignmentCreate(_AssignmentFields, total=False):
    task_id: Required[str]
    billable: bool | None


class TaskAssignmentUpdate(_AssignmentFields, total=False):
    billable: bool


class UserAssignmentUpdate(_AssignmentFields, total=False):
    is_project_manager: bool
    use_default_rates: bool


class UserAssignmentCreate(UserAssignmentUpdate, total=False):
    user_id: Required[str]


A = TypeVar("A", TaskAssignment, UserAssignment)


class _Assignments(Resource[IO], Generic[IO, A]):
    """The assignments of one project, under /projects/{project_id}/<key>."""

    key: str
    model: type[A]

    def _path(self, project_id: str, id: str | None = None) -> str:
        base = f"/projects/{project_id}/{self.key}"
        return base if id is None else f"{base}/{id}"

    @listing
    def list(
        self,
        project_id: str,
        *,
        is_active: bool | None = None,
        updated_since: datetime | None = None,
        per_page: int | None = None,
    ) -> Listing[A]:
        params = {"is_active": is_active, "updated_since": updated_since, "per_page": per_page}
        return Listing(self._path(project_id), self.key, self.model.from_wire, params)

    @operation
    def get(self, project_id: str, id: str) -> Call[A]:
        return (yield from fetch(self.model, "GET", self._path(project_id, id)))

    @operation
    def delete(self, project_id: str, id: str) -> Call[Deleted]:
        return (yield from fetch(Deleted, "DELETE", self._path(project_id, id)))


class TaskAssignments(_Assignments[IO, TaskAssignment]):
    key, model = "task_assignments", TaskAssignment

    @operation
    def create(
        self, project_id: str, **fields: Unpack[TaskAssignmentCreate]
    ) -> Call[TaskAssignment]:
        return (yield from fetch(self.model, "POST", self._path(project_id), json=fields))

    @operation
    def update(
        self, project_id: str, id: str, **fields: Unpack[TaskAssignmentUpdate]
    ) -> Call[TaskAssignment]:
        return (yield from fetch(self.model, "PATCH", self._path(project_id, id), json=fields))


class UserAssignments(_Assignments[IO, UserAssignment]):
    key, model = "user_assignments", UserAssignment

    @operation
    def create(
        self, project_id: str, **fields: Unpack[UserAssignmentCreate]
    ) -> Call[UserAssignment]:
        return (yield from fetch(self.model, "POST", self._path(project_id), json=fields))

    @operation
    def update(
        self, project_id: str, id: str, **fields: Unpack[UserAssignmentUpdate]
    ) -> Call[UserAssignment]:
        return (yield from fetch(self.model, "PATCH", self._path(project_id, id), json=fields))


class Projects(Collection[IO, Project]):
    path, key, model = "/projects", "projects", Project

    def __init__(self, io: IO) -> None:
        super().__init__(io)
        self.task_assignments = TaskAssignments(io)
        self.user_assignments = UserAssignments(io)

    @listing
    def list(
        self,
        *,
        is_active: bool | None = None,
        client_id: str | None = None,
        updated_since: datetime | None = None,
        per_page: int | None = None,
    ) -> Listing[Project]:
        return self._listing(
            is_active=is_active,
            client_id=client_id,
            updated_since=updated_since,
            per_page=per_page,
        )

    @operation
    def create(self, **fields: Unpack[ProjectCreate]) -> Call[Project]:
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[ProjectUpdate]) -> Call[Project]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[Deleted]:
        return (yield from self._delete(id))

    @operation
    def resolve(self, ref: str) -> Call[Project]:
        """The project `ref` names: its id, its code, or its name."""
        if is_id(ref):
            return (yield from fetch(Project, "GET", f"/projects/{ref}"))
        rows = yield from every(self._listing(per_page=2000))
        return pick("project", ref, rows, lambda p: (p.code, p.name))


class _TaskFields(TypedDict, total=False):
    billable_by_default: bool
    default_hourly_rate: Money | None
    is_default: bool
    is_active: bool


class TaskCreate(_TaskFields, total=False):
    name: Required[str]


class TaskUpdate(_TaskFields, total=False):
    name: str


class Tasks(Collection[IO, Task]):
    path, key, model = "/tasks", "tasks", Task

    @listing
    def list(
        self,
        *,
        is_active: bool | None = None,
        updated_since: datetime | None = None,
        per_page: int | None = None,
    ) -> Listing[Task]:
        return self._listing(is_active=is_active, updated_since=updated_since, per_page=per_page)

    @operation
    def create(self, **fields: Unpack[TaskCreate]) -> Call[Task]:
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[TaskUpdate]) -> Call[Task]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[Deleted]:
        return (yield from self._delete(id))

    @operation
    def resolve(self, ref: str, *, project_id: str | None = None) -> Call[Task]:
        """The task `ref` names (its id or name); with `project_id`, among the tasks
        assigned to that project."""
        if is_id(ref):
            return (yield from fetch(Task, "GET", f"/tasks/{ref}"))
        if project_id is None:
            rows = yield from every(self._listing(per_page=2000))
            return pick("task", ref, rows, lambda t: (t.name,))
        assigned = yield from every(
            Listing(
                f"/projects/{project_id}/task_assignments",
                "task_assignments",
                TaskAssignment.from_wire,
                {"per_page": 2000},
            )
        )
        chosen = pick("task", ref, assigned, lambda a: (a.task.name,))
        return (yield from fetch(Task, "GET", f"/tasks/{chosen.task.id}"))
