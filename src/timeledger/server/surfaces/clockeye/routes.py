"""ClockEye's /api routes, each one call into the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query

from timeledger.server.catalog import service as catalog
from timeledger.server.surfaces.clockeye import wire
from timeledger.server.surfaces.clockeye.deps import CurrentActor, Paging, Policy, Session
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.schemas import EntryFilters, SpentDate, StopTimer, TimeEntryCreate
from timeledger.server.webhooks import service as webhooks
from timeledger.server.webhooks.schemas import WebhookCreate

router = SurfaceRouter()


@router.get(
    "/time-entries",
    response_model=wire.TimeEntryList,
    tags=["time entries"],
    summary="List time entries, newest day first",
)
def list_time_entries(
    session: Session,
    actor: CurrentActor,
    paging: Paging,
    user_id: Annotated[str | None, Query(description="Filter by user ID")] = None,
    project_id: Annotated[str | None, Query(description="Filter by project ID")] = None,
    start_date: Annotated[SpentDate | None, Query(description="Start date (YYYY-MM-DD)")] = None,
    end_date: Annotated[SpentDate | None, Query(description="End date (YYYY-MM-DD)")] = None,
) -> wire.TimeEntryList:
    filters = EntryFilters(user_id=user_id, project_id=project_id, from_=start_date, to=end_date)
    page = tracking.list_entries(
        session, actor, filters, page=paging.page, per_page=paging.per_page
    )
    return wire.TimeEntryList(
        data=[wire.TimeEntryOut.of(view) for view in page.items],
        pagination=wire.Pagination.of(page),
    )


@router.post(
    "/time-entries/start",
    response_model=wire.TimeEntryOut,
    status_code=201,
    tags=["time entries"],
    summary="Start a timer; a timer already running is stopped first",
)
def start_timer(
    body: Annotated[wire.StartTimer, Body()], session: Session, actor: CurrentActor
) -> wire.TimeEntryOut:
    command = TimeEntryCreate(
        project_id=body.project_id,
        task_id=body.task_id,
        notes=body.description,
        is_running=True,
        replace_running=True,
    )
    return wire.TimeEntryOut.of(tracking.create_entry(session, actor, command))


@router.post(
    "/time-entries/stop",
    response_model=wire.TimeEntryOut,
    tags=["time entries"],
    summary="Stop the running timer (whichever API started it) and save the entry",
)
def stop_timer(session: Session, actor: CurrentActor) -> wire.TimeEntryOut:
    return wire.TimeEntryOut.of(tracking.stop_current_timer(session, actor, StopTimer()))


@router.get(
    "/projects", response_model=wire.ProjectList, tags=["projects"], summary="List projects"
)
def list_projects(session: Session, actor: CurrentActor, paging: Paging) -> wire.ProjectList:
    page = catalog.list_projects(session, actor, page=paging.page, per_page=paging.per_page)
    return wire.ProjectList(
        data=[wire.ProjectOut.of(row) for row in page.items], pagination=wire.Pagination.of(page)
    )


@router.post(
    "/webhooks",
    response_model=wire.WebhookOut,
    status_code=201,
    tags=["webhooks"],
    summary="Create a webhook; deliveries carry X-ClockEye-Signature: sha256=<hex>",
)
def create_webhook(
    body: Annotated[wire.WebhookIn, Body()], session: Session, actor: CurrentActor, policy: Policy
) -> wire.WebhookOut:
    command = WebhookCreate(url=body.url, events=body.events)
    sub = webhooks.create_subscription(session, actor, command, policy, scheme="clockeye")
    return wire.WebhookOut.of(sub)
