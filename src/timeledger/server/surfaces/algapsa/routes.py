"""AlgaPSA's /api/v1/time-entries routes, each one call into the tracking services.
Fixed paths come before /{id}, so `bulk` or `stats` is never read as an entry id."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Body, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from timeledger.server.core.errors import DomainError, ValidationFailed
from timeledger.server.reports import export
from timeledger.server.reports import search as searching
from timeledger.server.reports import service as reports
from timeledger.server.reports.schemas import SEARCH_MAX_LENGTH, ExportFormat, GroupBy
from timeledger.server.surfaces.algapsa import wire
from timeledger.server.surfaces.algapsa.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.errorkit import validation_problems
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.native.exporting import download
from timeledger.server.tracking import approvals, bulk, templates
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.schemas import (
    ChangeRequest,
    EntryFilters,
    Selection,
    SpentDate,
    StopTimer,
    TimeEntryCreate,
    TimeEntryUpdate,
)

router = SurfaceRouter(tags=["time entries"])


async def _filters(
    user_id: str | None = None,
    project_id: str | None = None,
    task_id: str | None = None,
    work_item_type: Annotated[str | None, Query(description="With work_item_id")] = None,
    work_item_id: str | None = None,
    start_date: Annotated[
        SpentDate | None, Query(description="Entries on or after, YYYY-MM-DD")
    ] = None,
    end_date: Annotated[
        SpentDate | None, Query(description="Entries on or before, YYYY-MM-DD")
    ] = None,
    approval_status: wire.ApprovalStatus | None = None,
    is_running: bool | None = None,
) -> EntryFilters:
    reference = None
    if work_item_type is not None or work_item_id is not None:
        if work_item_type is None or work_item_id is None:
            missing = "work_item_type" if work_item_type is None else "work_item_id"
            raise ValidationFailed(
                f"{missing} is required: filter by work_item_type and work_item_id together",
                field=missing,
            )
        reference = f"{work_item_type}:{work_item_id}"
    return EntryFilters(
        user_id=user_id,
        project_id=project_id,
        task_id=task_id,
        external_reference=reference,
        from_=start_date,
        to=end_date,
        approval_status=wire.STATUS_IN[approval_status] if approval_status else None,
        is_running=is_running,
    )


Filters = Annotated[EntryFilters, Depends(_filters)]


@router.get("/", response_model=wire.TimeEntryList, summary="List time entries")
def list_entries(
    session: Session, actor: CurrentActor, paging: Paging, filters: Filters
) -> wire.TimeEntryList:
    page = tracking.list_entries(session, actor, filters, page=paging.page, per_page=paging.limit)
    return wire.entry_list(page)


@router.post("/", response_model=wire.TimeEntryData, status_code=201, summary="Create time entry")
def create_entry(
    body: Annotated[wire.TimeEntryIn, Body()], session: Session, actor: CurrentActor
) -> wire.TimeEntryData:
    command = TimeEntryCreate.model_validate(wire.create_command(body))
    view = tracking.create_entry(session, actor, command)
    return wire.TimeEntryData.of(view)


@router.get(
    "/active-session",
    response_model=wire.ActiveSession,
    summary="Get active tracking session (the caller's running timer)",
)
def active_session(session: Session, actor: CurrentActor) -> wire.ActiveSession:
    running = tracking.current_timer(session, actor)
    return wire.ActiveSession(data=wire.SessionOut.of(running) if running else None)


@router.post(
    "/start-tracking",
    response_model=wire.SessionData,
    status_code=201,
    summary="Start time tracking; 409 while another session runs",
)
def start_tracking(
    body: Annotated[wire.StartTracking, Body()], session: Session, actor: CurrentActor
) -> wire.SessionData:
    command = TimeEntryCreate.model_validate(wire.start_command(body))
    return wire.SessionData(data=wire.SessionOut.of(tracking.create_entry(session, actor, command)))


@router.post(
    "/stop-tracking/{sessionId}",
    response_model=wire.TimeEntryData,
    summary="Stop time tracking; the session becomes a finished time entry",
)
def stop_tracking(
    sessionId: str,  # noqa: N803 (AlgaPSA's path parameter name)
    session: Session,
    actor: CurrentActor,
    body: Annotated[wire.StopTracking | None, Body()] = None,
) -> wire.TimeEntryData:
    command = StopTimer(notes=body.notes if body else None)
    view = tracking.stop_entry(session, actor, sessionId, command)
    return wire.TimeEntryData.of(view)


@router.post(
    "/approve",
    response_model=wire.TimeEntries,
    summary="Approve time entries (managers); entries not yet submitted are submitted first",
)
def approve(
    body: Annotated[wire.Approve, Body()], session: Session, actor: CurrentActor
) -> wire.TimeEntries:
    views = approvals.approve_unreviewed(session, actor, Selection(ids=body.entry_ids))
    return wire.TimeEntries.of(views)


@router.post(
    "/request-changes",
    response_model=wire.TimeEntries,
    summary="Request time entry changes (managers), with a reason",
)
def request_changes(
    body: Annotated[wire.RequestChanges, Body()], session: Session, actor: CurrentActor
) -> wire.TimeEntries:
    request = ChangeRequest(ids=body.entry_ids, reason=body.reason)
    views = approvals.request_changes_to_unreviewed(session, actor, request)
    return wire.TimeEntries.of(views)


def _translated(items: list[dict[str, Any]], model: type[wire.Body], build: Any) -> list[Any]:
    """Each bulk item in the domain's terms; bad items are listed by index, like the
    service's own per-item failures."""
    commands, failures = [], []
    for index, item in enumerate(items):
        try:
            commands.append(build(model.model_validate(item)))
        except DomainError as exc:
            failures.append({"index": index, "error": exc.code, "error_description": exc.message})
        except ValidationError as exc:
            problems = validation_problems(exc.errors())
            text = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
            failures.append({"index": index, "error": "invalid_request", "error_description": text})
    if failures:
        raise ValidationFailed(
            f"{len(failures)} of {len(items)} entries are invalid; nothing was written",
            code="bulk_failed",
            field="entries",
            details=failures,
        )
    return commands


@router.post(
    "/bulk",
    response_model=wire.TimeEntries,
    status_code=201,
    summary="Bulk create time entries (up to 500, all or nothing)",
)
def bulk_create(
    body: Annotated[wire.BulkCreate, Body()], session: Session, actor: CurrentActor
) -> wire.TimeEntries:
    commands = _translated(body.entries, wire.TimeEntryIn, wire.create_command)
    views = bulk.bulk_create(session, actor, commands)
    return wire.TimeEntries.of(views)


@router.put(
    "/bulk",
    response_model=wire.TimeEntries,
    summary="Bulk update time entries (up to 500, all or nothing)",
)
def bulk_update(
    body: Annotated[wire.BulkUpdate, Body()], session: Session, actor: CurrentActor
) -> wire.TimeEntries:
    def build(change: wire.BulkChange) -> dict[str, Any]:
        return {"id": change.id, **wire.update_command(change)}

    views = bulk.bulk_update(session, actor, _translated(body.entries, wire.BulkChange, build))
    return wire.TimeEntries.of(views)


@router.delete(
    "/bulk",
    response_model=wire.DeletedData,
    summary="Bulk delete time entries (up to 500, all or nothing)",
)
def bulk_delete(
    body: Annotated[wire.BulkDelete, Body()], session: Session, actor: CurrentActor
) -> wire.DeletedData:
    deleted = bulk.bulk_delete(session, actor, body.entry_ids)
    return wire.DeletedData(data=wire.Deleted(deleted=deleted))


@router.get(
    "/export",
    summary="Export time entries (CSV, NDJSON or XLSX), filters as for the list",
    response_class=StreamingResponse,
)
def export_entries(
    request: Request,
    session: Session,
    actor: CurrentActor,
    filters: Filters,
    format: ExportFormat = "csv",
) -> StreamingResponse:
    table = export.time_entries(session, actor, filters)
    return download(request, table, format, "time-entries")


@router.get(
    "/search",
    response_model=wire.TimeEntryList,
    summary="Search time entries: every word of `query` in the notes, best matches first",
)
def search(
    session: Session,
    actor: CurrentActor,
    paging: Paging,
    filters: Filters,
    query: Annotated[
        str, Query(min_length=1, max_length=SEARCH_MAX_LENGTH, description="Words to find")
    ],
) -> wire.TimeEntryList:
    page = searching.search_entries(
        session, actor, query, filters, page=paging.page, per_page=paging.limit
    )
    return wire.entry_list(page)


def _stats_row(row: reports.StatsRow) -> wire.StatsRowOut:
    key = row.key
    return wire.StatsRowOut(
        key=None if key is None else (key.isoformat() if isinstance(key, date) else str(key)),
        name=row.name,
        currency=row.currency,
        entry_count=row.count,
        total_minutes=wire.minutes_of_hours(row.hours),
        billable_minutes=wire.minutes_of_hours(row.billable_hours),
        billable_amount=format(row.billable_amount, "f"),
    )


@router.get(
    "/stats",
    response_model=wire.StatsData,
    summary="Get time entry stats: totals per currency, optionally grouped",
)
def stats(
    session: Session, actor: CurrentActor, filters: Filters, group_by: GroupBy | None = None
) -> wire.StatsData:
    result = reports.entry_stats(session, actor, filters, group_by)
    return wire.StatsData(
        data=wire.Stats(
            group_by=result.group_by,
            totals=[_stats_row(row) for row in result.totals],
            groups=[_stats_row(row) for row in result.groups],
        )
    )


@router.get("/templates", response_model=wire.TemplateList, summary="List time entry templates")
def list_templates(session: Session, actor: CurrentActor, paging: Paging) -> wire.TemplateList:
    page = templates.list_templates(session, actor, page=paging.page, per_page=paging.limit)
    return wire.TemplateList(
        data=[wire.TemplateOut.of(row) for row in page.items], pagination=wire.Pagination.of(page)
    )


@router.get("/{id}", response_model=wire.TimeEntryData, summary="Get time entry")
def get_entry(id: str, session: Session, actor: CurrentActor) -> wire.TimeEntryData:
    return wire.TimeEntryData.of(tracking.get_entry(session, actor, id))


@router.put(
    "/{id}",
    response_model=wire.TimeEntryData,
    summary="Update time entry: the fields sent change, the rest stay",
)
def update_entry(
    id: str,
    body: Annotated[wire.TimeEntryChange, Body()],
    session: Session,
    actor: CurrentActor,
) -> wire.TimeEntryData:
    command = TimeEntryUpdate.model_validate(wire.update_command(body))
    view = tracking.update_entry(session, actor, id, command)
    return wire.TimeEntryData.of(view)


@router.delete("/{id}", status_code=204, response_class=Response, summary="Delete time entry")
def delete_entry(id: str, session: Session, actor: CurrentActor) -> Response:
    tracking.delete_entry(session, actor, id)
    return Response(status_code=204)
