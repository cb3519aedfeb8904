"""/api/v2 time entries, timers, approvals, bulk operations and templates."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, Query, Request, Response
from pydantic import Field

from timeledger.server.core.fields import AwareDatetime
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.resources import Operations, add_resource
from timeledger.server.surfaces.native.wire import (
    Id,
    IdName,
    ListEnvelope,
    Number,
    Timestamps,
    Wire,
    envelope,
    list_model,
)
from timeledger.server.tracking import approvals, bulk, templates
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.models import TimeEntryTemplate
from timeledger.server.tracking.schemas import (
    ChangeRequest,
    EntryFilters,
    FromTemplate,
    RestartTimer,
    Selection,
    StopTimer,
    TemplateCreate,
    TemplateUpdate,
    TimeEntryCreate,
    TimeEntryUpdate,
)
from timeledger.server.tracking.views import EntryView

router = SurfaceRouter(tags=["time entries"])


class ExternalReferenceOut(Wire):
    type: str
    id: str


class TimeEntryOut(Timestamps):
    id: Id
    spent_date: date
    user_id: Id
    user: IdName
    project_id: Id
    project: IdName
    task_id: Id
    task: IdName
    client_id: Id | None
    client: IdName | None
    hours: Number
    rounded_hours: Number
    notes: str | None
    is_running: bool
    timer_started_at: datetime | None
    started_time: str | None
    ended_time: str | None
    billable: bool
    budgeted: bool
    billable_rate: Number | None
    cost_rate: Number | None
    billable_amount: Number | None
    cost_amount: Number | None
    currency: str
    source: Literal["web", "cli", "api", "agent"]
    metadata: dict[str, Any] | None
    external_reference: ExternalReferenceOut | None
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"]
    rejection_reason: str | None
    is_locked: bool
    locked_reason: str | None
    is_closed: bool
    is_billed: bool
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, view: EntryView) -> "TimeEntryOut":
        e = view.entry
        client = e.project.client
        user = e.user
        user_name = " ".join(p for p in (user.first_name, user.last_name) if p) or user.email
        return cls(
            id=e.id,
            spent_date=e.spent_date,
            user_id=e.user_id,
            user=IdName(id=user.id, name=user_name),
            project_id=e.project_id,
            project=IdName(id=e.project.id, name=e.project.name),
            task_id=e.task_id,
            task=IdName(id=e.task.id, name=e.task.name),
            client_id=client.id if client else None,
            client=IdName(id=client.id, name=client.name) if client else None,
            hours=view.hours,
            rounded_hours=view.rounded_hours,
            notes=e.notes,
            is_running=view.is_running,
            timer_started_at=e.timer_started_at if view.is_running else None,
            started_time=view.started_time,
            ended_time=view.ended_time,
            billable=e.billable,
            budgeted=view.budgeted,
            billable_rate=e.billable_rate,
            cost_rate=e.cost_rate,
            billable_amount=view.billable_amount,
            cost_amount=view.cost_amount,
            currency=view.currency,
            source=e.source,
            metadata=e.meta,
            external_reference=ExternalReferenceOut(type=e.external_ref_type, id=e.external_ref_id)
            if e.external_ref_type and e.external_ref_id
            else None,
            approval_status=e.approval_status,
            rejection_reason=e.rejection_reason,
            is_locked=view.is_locked,
            locked_reason=view.locked_reason,
            is_closed=view.is_closed,
            is_billed=e.is_billed,
            warnings=list(view.warnings),
            created_at=e.created_at,
            updated_at=e.changed_at,
        )


TimeEntryList = list_model("time_entries", TimeEntryOut)


class TimeEntries(Wire):
    time_entries: list[TimeEntryOut]


class BulkCreate(Wire):
    time_entries: list[Any] = Field(description="Time entries as for POST /time_entries")


class BulkUpdate(Wire):
    time_entries: list[Any] = Field(description="Each with its id and the fields to change")


class BulkDelete(Wire):
    ids: list[Any]


class BulkDeleted(Wire):
    ids: list[str]
    deleted: bool = True


def _many(views: list[EntryView]) -> TimeEntries:
    return TimeEntries(time_entries=[TimeEntryOut.of(view) for view in views])


async def _filters(
    user_id: str | None = None,
    project_id: str | None = None,
    task_id: str | None = None,
    client_id: str | None = None,
    source: Literal["web", "cli", "api", "agent"] | None = None,
    from_: Annotated[date | None, Query(alias="from", description="spent_date >= this")] = None,
    to: Annotated[date | None, Query(description="spent_date <= this")] = None,
    is_billed: bool | None = None,
    is_running: bool | None = None,
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"] | None = None,
    external_reference: Annotated[str | None, Query(description="type:id")] = None,
    updated_since: AwareDatetime | None = None,
) -> EntryFilters:
    return EntryFilters(
        user_id=user_id,
        project_id=project_id,
        task_id=task_id,
        client_id=client_id,
        source=source,
        from_=from_,
        to=to,
        is_billed=is_billed,
        is_running=is_running,
        approval_status=approval_status,
        external_reference=external_reference,
        updated_since=updated_since,
    )


Filters = Annotated[EntryFilters, Depends(_filters)]


@router.get("/time_entries", response_model=TimeEntryList, summary="List time entries")
def list_time_entries(
    request: Request, session: Session, actor: CurrentActor, paging: Paging, filters: Filters
) -> ListEnvelope:
    page = tracking.list_entries(
        session, actor, filters, page=paging.page, per_page=paging.per_page
    )
    return envelope(
        TimeEntryList, "time_entries", page, [TimeEntryOut.of(view) for view in page.items], request
    )


@router.post(
    "/time_entries",
    response_model=TimeEntryOut,
    status_code=201,
    summary="Log time, or start a timer with is_running: true",
)
def create_time_entry(
    command: Annotated[TimeEntryCreate, Body()], session: Session, actor: CurrentActor
) -> TimeEntryOut:
    return TimeEntryOut.of(tracking.create_entry(session, actor, command))


# Fixed paths first, so "bulk" is never read as an entry id.
@router.post(
    "/time_entries/bulk",
    response_model=TimeEntries,
    status_code=201,
    summary="Create up to 500 entries, all or nothing",
)
def bulk_create(
    body: Annotated[BulkCreate, Body()], session: Session, actor: CurrentActor
) -> TimeEntries:
    return _many(bulk.bulk_create(session, actor, body.time_entries))


@router.patch(
    "/time_entries/bulk",
    response_model=TimeEntries,
    summary="Update up to 500 entries, all or nothing",
)
def bulk_update(
    body: Annotated[BulkUpdate, Body()], session: Session, actor: CurrentActor
) -> TimeEntries:
    return _many(bulk.bulk_update(session, actor, body.time_entries))


@router.delete(
    "/time_entries/bulk",
    response_model=BulkDeleted,
    summary="Delete up to 500 entries, all or nothing",
)
def bulk_delete(
    body: Annotated[BulkDelete, Body()], session: Session, actor: CurrentActor
) -> BulkDeleted:
    return BulkDeleted(ids=bulk.bulk_delete(session, actor, body.ids))


@router.post(
    "/time_entries/submit",
    response_model=TimeEntries,
    summary="Submit entries for approval (ids, or user_id + from/to)",
)
def submit(
    selection: Annotated[Selection, Body()], session: Session, actor: CurrentActor
) -> TimeEntries:
    return _many(approvals.submit(session, actor, selection))


@router.post(
    "/time_entries/approve",
    response_model=TimeEntries,
    summary="Approve submitted entries (managers and above); approved entries lock",
)
def approve(
    selection: Annotated[Selection, Body()], session: Session, actor: CurrentActor
) -> TimeEntries:
    return _many(approvals.approve(session, actor, selection))


@router.post(
    "/time_entries/request_changes",
    response_model=TimeEntries,
    summary="Send submitted entries back with a reason (managers and above)",
)
def request_changes(
    request: Annotated[ChangeRequest, Body()], session: Session, actor: CurrentActor
) -> TimeEntries:
    return _many(approvals.request_changes(session, actor, request))


@router.post(
    "/time_entries/unlock", response_model=TimeEntries, summary="Unlock approved entries (admins)"
)
def unlock(
    selection: Annotated[Selection, Body()], session: Session, actor: CurrentActor
) -> TimeEntries:
    return _many(approvals.unlock(session, actor, selection))


@router.post(
    "/time_entries/from_template/{id}",
    response_model=TimeEntryOut,
    status_code=201,
    summary="Log time from a saved template",
)
def from_template(
    id: str, command: Annotated[FromTemplate, Body()], session: Session, actor: CurrentActor
) -> TimeEntryOut:
    return TimeEntryOut.of(templates.create_from_template(session, actor, id, command))


@router.get("/time_entries/{id}", response_model=TimeEntryOut, summary="Get a time entry")
def get_time_entry(id: str, session: Session, actor: CurrentActor) -> TimeEntryOut:
    return TimeEntryOut.of(tracking.get_entry(session, actor, id))


@router.patch(
    "/time_entries/{id}",
    response_model=TimeEntryOut,
    summary="Update a time entry (metadata merges key by key; null clears it)",
)
def update_time_entry(
    id: str, command: Annotated[TimeEntryUpdate, Body()], session: Session, actor: CurrentActor
) -> TimeEntryOut:
    return TimeEntryOut.of(tracking.update_entry(session, actor, id, command))


@router.delete(
    "/time_entries/{id}",
    status_code=204,
    response_class=Response,
    summary="Delete a time entry (not approved, billed or locked ones)",
)
def delete_time_entry(id: str, session: Session, actor: CurrentActor) -> Response:
    tracking.delete_entry(session, actor, id)
    return Response(status_code=204)


@router.patch(
    "/time_entries/{id}/stop",
    response_model=TimeEntryOut,
    summary="Stop a running timer; the elapsed time is measured by the server",
)
def stop(
    id: str,
    session: Session,
    actor: CurrentActor,
    command: Annotated[StopTimer | None, Body()] = None,
) -> TimeEntryOut:
    return TimeEntryOut.of(tracking.stop_entry(session, actor, id, command or StopTimer()))


@router.patch(
    "/time_entries/{id}/restart",
    response_model=TimeEntryOut,
    summary="Resume a stopped entry as the running timer",
)
def restart(
    id: str,
    session: Session,
    actor: CurrentActor,
    command: Annotated[RestartTimer | None, Body()] = None,
) -> TimeEntryOut:
    return TimeEntryOut.of(tracking.restart_entry(session, actor, id, command or RestartTimer()))


class TemplateOut(Timestamps):
    id: Id
    name: str
    user_id: Id
    project: IdName
    task: IdName
    notes: str | None
    hours: Number | None
    billable: bool | None
    metadata: dict[str, Any] | None

    @classmethod
    def of(cls, row: TimeEntryTemplate) -> "TemplateOut":
        return cls(
            id=row.id,
            name=row.name,
            user_id=row.user_id,
            project=IdName(id=row.project.id, name=row.project.name),
            task=IdName(id=row.task.id, name=row.task.name),
            notes=row.notes,
            hours=row.hours,
            billable=row.billable,
            metadata=row.meta,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


async def _no_filters() -> dict[str, Any]:
    return {}


add_resource(
    router,
    path="/time_entry_templates",
    key="time_entry_templates",
    singular="time entry template",
    out=TemplateOut,
    render=TemplateOut.of,
    create=TemplateCreate,
    update=TemplateUpdate,
    filters=_no_filters,
    ops=Operations(
        templates.list_templates,
        templates.get_template,
        templates.create_template,
        templates.update_template,
        templates.delete_template,
    ),
)
