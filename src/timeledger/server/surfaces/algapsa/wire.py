"""AlgaPSA's wire shapes: snake_case, ISO 8601 instants, whole minutes, `{"data": ...}`
bodies with `pagination` on lists, approval states in capitals.

An entry points at work with `work_item_type` + `work_item_id` (stored as the entry's
external reference). It is tracked against a project and task: `project_id`/`task_id` when
sent, else the active project whose `code` is the work item type (e.g. a project with code
`ticket` collects ticket time) and that project's only active task (or only default task)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from timeledger.server.core.crud import Page
from timeledger.server.core.errors import ValidationFailed
from timeledger.server.core.fields import AwareDatetime, omitted, trimmed
from timeledger.server.tracking.models import TimeEntry, TimeEntryTemplate
from timeledger.server.tracking.views import EntryView

Id = Annotated[uuid.UUID, PlainSerializer(str, return_type=str)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
Text = Annotated[str, StringConstraints(max_length=5000)]
WorkItemType = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(trimmed)
]
WorkItemId = Annotated[
    str, StringConstraints(min_length=1, max_length=255), AfterValidator(trimmed)
]
ApprovalStatus = Literal["DRAFT", "SUBMITTED", "APPROVED", "CHANGES_REQUESTED"]

STATUS_OUT: dict[str, ApprovalStatus] = {
    "unsubmitted": "DRAFT",
    "submitted": "SUBMITTED",
    "approved": "APPROVED",
    "rejected": "CHANGES_REQUESTED",
}
STATUS_IN = {wire: domain for domain, wire in STATUS_OUT.items()}


class Wire(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Body(BaseModel):
    """A request body: unknown fields are ignored, as AlgaPSA clients may send more."""

    model_config = ConfigDict(extra="ignore")


def minutes(seconds: int) -> int:
    """Whole minutes, half-up."""
    return (seconds + 30) // 60


def minutes_of_hours(hours: Decimal) -> int:
    return int((hours * 60).to_integral_value(ROUND_HALF_UP))


# --- entries ----------------------------------------------------------------------------------


class TimeEntryOut(Wire):
    id: Id
    user_id: Id
    work_item_type: str | None
    work_item_id: str | None
    project_id: Id
    task_id: Id
    started_at: datetime | None
    ended_at: datetime | None
    duration_minutes: int
    billable_minutes: int = Field(description="What is billed: all of it unless set lower")
    billable: bool
    notes: str | None
    is_running: bool
    approval_status: ApprovalStatus
    change_request_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: EntryView) -> TimeEntryOut:
        e = view.entry
        return cls(
            id=e.id,
            **_tracked(e),
            ended_at=view.ended_at,
            duration_minutes=minutes(view.seconds),
            billable_minutes=billable_minutes(e, view.seconds),
            billable=e.billable,
            notes=e.notes,
            is_running=view.is_running,
            approval_status=STATUS_OUT[e.approval_status],
            change_request_reason=e.rejection_reason,
            created_at=e.created_at,
            updated_at=e.changed_at,
        )


def _tracked(entry: TimeEntry) -> dict[str, Any]:
    """Who tracked an entry, for which work item, project and task, and since when."""
    return {
        "user_id": entry.user_id,
        "work_item_type": entry.external_ref_type,
        "work_item_id": entry.external_ref_id,
        "project_id": entry.project_id,
        "task_id": entry.task_id,
        "started_at": entry.started_at,
    }


def billable_minutes(entry: TimeEntry, seconds: int) -> int:
    if not entry.billable:
        return 0
    return minutes(seconds if entry.billable_seconds is None else entry.billable_seconds)


class Pagination(Wire):
    page: int
    limit: int
    total: int
    total_pages: int
    has_next: bool
    has_prev: bool

    @classmethod
    def of(cls, page: Page[Any]) -> Pagination:
        return cls(
            page=page.page,
            limit=page.per_page,
            total=page.total,
            total_pages=page.total_pages,
            has_next=page.page < page.total_pages,
            has_prev=page.page > 1,
        )


class TimeEntryData(Wire):
    data: TimeEntryOut

    @classmethod
    def of(cls, view: EntryView) -> TimeEntryData:
        return cls(data=TimeEntryOut.of(view))


class TimeEntryList(Wire):
    data: list[TimeEntryOut]
    pagination: Pagination


class TimeEntries(Wire):
    data: list[TimeEntryOut]

    @classmethod
    def of(cls, views: Iterable[EntryView]) -> TimeEntries:
        return cls(data=[TimeEntryOut.of(view) for view in views])


def entry_list(page: Page[EntryView]) -> TimeEntryList:
    return TimeEntryList(
        data=[TimeEntryOut.of(view) for view in page.items], pagination=Pagination.of(page)
    )


class _WorkItem(Body):
    work_item_type: WorkItemType | None = None
    work_item_id: WorkItemId | None = None
    project_id: str | None = Field(
        default=None, description="Optional: else the project whose code is work_item_type"
    )
    task_id: str | None = Field(
        default=None, description="Optional: else the project's only (or default) task"
    )
    notes: Text | None = None


class TimeEntryIn(_WorkItem):
    """A finished entry: started_at plus ended_at or duration_minutes."""

    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    duration_minutes: Minutes | None = None
    billable_minutes: Minutes | None = Field(
        default=None, description="At most the duration; omit to bill all of it"
    )
    billable: bool | None = None
    user_id: str | None = Field(default=None, description="Defaults to the calling user")


class TimeEntryChange(Body):
    """The fields to change; those left out stay as they are (null clears notes and
    billable_minutes)."""

    work_item_type: WorkItemType | None = None
    work_item_id: WorkItemId | None = None
    project_id: str = omitted()
    task_id: str = omitted()
    started_at: AwareDatetime = omitted()
    ended_at: AwareDatetime = omitted()
    duration_minutes: Minutes = omitted()
    billable_minutes: Minutes | None = None
    billable: bool = omitted()
    notes: Text | None = None
    user_id: str = omitted()


class BulkChange(TimeEntryChange):
    id: str


def _reference(body: BaseModel) -> dict[str, str] | None:
    kind, item = getattr(body, "work_item_type", None), getattr(body, "work_item_id", None)
    if kind is None and item is None:
        return None
    if kind is None or item is None:
        missing = "work_item_type" if kind is None else "work_item_id"
        raise ValidationFailed(
            f"{missing} is required: work_item_type and work_item_id go together", field=missing
        )
    return {"type": kind, "id": item}


def _hours(duration: int | None) -> Decimal | None:
    return None if duration is None else Decimal(duration) / 60


def _work(body: _WorkItem) -> dict[str, Any]:
    return {
        "project_id": body.project_id,
        "task_id": body.task_id,
        "notes": body.notes,
        "external_reference": _reference(body),
    }


def create_command(body: TimeEntryIn) -> dict[str, Any]:
    """The domain's TimeEntryCreate, as data (bulk validates it item by item)."""
    command: dict[str, Any] = {
        **_work(body),
        "user_id": body.user_id,
        "started_at": body.started_at,
        "ended_at": body.ended_at,
        "hours": _hours(body.duration_minutes),
    }
    if body.billable_minutes is not None:
        command["billable_seconds"] = body.billable_minutes * 60
    billable = _billable(body.billable, body.billable_minutes)
    if billable is not None:
        command["billable"] = billable
    return command


def _billable(billable: bool | None, billable_minutes: int | None) -> bool | None:
    """AlgaPSA says whether time is billable by how much of it is: billable_minutes > 0 is
    billable time, 0 is not, unless `billable` says so itself."""
    if billable is not None or billable_minutes is None:
        return billable
    return billable_minutes > 0


def update_command(body: TimeEntryChange) -> dict[str, Any]:
    """The domain's TimeEntryUpdate, as data: only what was sent."""
    sent = body.model_fields_set
    command: dict[str, Any] = {
        name: getattr(body, name)
        for name in ("project_id", "task_id", "started_at", "ended_at", "billable", "notes")
        if name in sent
    }
    if "user_id" in sent:
        command["user_id"] = body.user_id
    if "duration_minutes" in sent:
        command["hours"] = _hours(body.duration_minutes)
    if "billable_minutes" in sent:
        minutes_ = body.billable_minutes
        command["billable_seconds"] = None if minutes_ is None else minutes_ * 60
        billable = _billable(body.billable if "billable" in sent else None, minutes_)
        if billable is not None:
            command["billable"] = billable
    if {"work_item_type", "work_item_id"} & sent:
        command["external_reference"] = _reference(body)
    return command


# --- tracking sessions ------------------------------------------------------------------------


class StartTracking(_WorkItem):
    user_id: str | None = Field(default=None, description="Defaults to the calling user")


def start_command(body: StartTracking) -> dict[str, Any]:
    """A running timer: the tracking session."""
    return {**_work(body), "user_id": body.user_id, "is_running": True}


class StopTracking(Body):
    notes: Text | None = Field(default=None, description="Replaces the session's notes")


class SessionOut(Wire):
    session_id: Id = Field(description="Pass to POST /stop-tracking/{sessionId}")
    user_id: Id
    work_item_type: str | None
    work_item_id: str | None
    project_id: Id
    task_id: Id
    started_at: datetime | None
    elapsed_minutes: int
    notes: str | None

    @classmethod
    def of(cls, view: EntryView) -> SessionOut:
        e = view.entry
        return cls(
            session_id=e.id,
            **_tracked(e),
            elapsed_minutes=minutes(view.seconds),
            notes=e.notes,
        )


class SessionData(Wire):
    data: SessionOut


class ActiveSession(Wire):
    data: SessionOut | None = Field(description="null when nothing is being tracked")


# --- approval and bulk ------------------------------------------------------------------------

EntryIds = Annotated[list[str], Field(min_length=1, max_length=500)]


class Approve(Body):
    entry_ids: EntryIds


class RequestChanges(Body):
    entry_ids: EntryIds
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=5000), AfterValidator(trimmed)
    ]


class BulkCreate(Body):
    entries: Annotated[list[dict[str, Any]], Field(max_length=500)] = Field(
        description="Entries as for POST /time-entries"
    )


class BulkUpdate(Body):
    entries: Annotated[list[dict[str, Any]], Field(max_length=500)] = Field(
        description="Each with its id and the fields to change, as for PUT /time-entries/{id}"
    )


class BulkDelete(Body):
    entry_ids: EntryIds


class Deleted(Wire):
    deleted: list[str]


class DeletedData(Wire):
    data: Deleted


# --- stats and templates ----------------------------------------------------------------------


class StatsRowOut(Wire):
    key: str | None
    name: str | None
    currency: str
    entry_count: int
    total_minutes: int
    billable_minutes: int
    billable_amount: str = Field(description="Decimal string in the currency")


class Stats(Wire):
    group_by: str | None
    totals: list[StatsRowOut]
    groups: list[StatsRowOut]


class StatsData(Wire):
    data: Stats


class TemplateOut(Wire):
    id: Id
    name: str
    user_id: Id
    project_id: Id
    task_id: Id
    notes: str | None
    duration_minutes: int | None
    billable: bool | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: TimeEntryTemplate) -> TemplateOut:
        return cls(
            id=row.id,
            name=row.name,
            user_id=row.user_id,
            project_id=row.project_id,
            task_id=row.task_id,
            notes=row.notes,
            duration_minutes=None if row.hours is None else minutes_of_hours(row.hours),
            billable=row.billable,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class TemplateList(Wire):
    data: list[TemplateOut]
    pagination: Pagination
