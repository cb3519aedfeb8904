"""/sessions/: a session is a time entry given by its instants; a running session is the
user's one running timer, the same one /api/v2 and the other surfaces see and stop."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Query, Response

from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.temporalist.deps import CurrentActor, Session, every
from timeledger.server.surfaces.temporalist.errors import wire_names
from timeledger.server.surfaces.temporalist.wire import (
    ERROR_RESPONSES,
    SESSION_FIELDS,
    AlreadyClosedOut,
    SessionIn,
    SessionOut,
    SessionPatch,
)
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.schemas import (
    EntryFilters,
    StopTimer,
    TimeEntryCreate,
    TimeEntryUpdate,
)

router = SurfaceRouter(tags=["sessions"], responses=ERROR_RESPONSES)


@router.get("/sessions/", summary="List your sessions, newest first")
def list_sessions(
    session: Session,
    actor: CurrentActor,
    active: Annotated[
        Literal["true", "false"] | None, Query(description="running (true) or finished (false)")
    ] = None,
    project_id: Annotated[uuid.UUID | None, Query()] = None,
) -> list[SessionOut]:
    filters = EntryFilters(
        user_id=str(actor.user_id),
        project_id=str(project_id) if project_id else None,
        is_running=None if active is None else active == "true",
    )
    views = every(
        lambda page, per_page: tracking.list_entries(
            session, actor, filters, page=page, per_page=per_page
        )
    )
    return [SessionOut.of(view) for view in views]


@router.post(
    "/sessions/",
    status_code=201,
    summary="Start a session, or log a finished one (with start_time and end_time)",
    responses={409: {"description": "You already have a running session"}},
)
def create_session(body: SessionIn, session: Session, actor: CurrentActor) -> SessionOut:
    with wire_names(SESSION_FIELDS):
        command = TimeEntryCreate(
            project_id=str(body.project_id),
            is_running=body.end_time is None,
            started_at=body.start_time,
            ended_at=body.end_time,
            notes=body.description or None,
            source="api",
            started_via=body.started_via,
        )
        return SessionOut.of(tracking.create_entry(session, actor, command))


@router.get("/sessions/{id}/", summary="Get a session")
def get_session(id: str, session: Session, actor: CurrentActor) -> SessionOut:
    return SessionOut.of(tracking.get_entry(session, actor, id))


@router.patch(
    "/sessions/{id}/",
    summary="Update a session; an end_time on a running session ends it then",
)
def update_session(
    id: str, body: SessionPatch, session: Session, actor: CurrentActor
) -> SessionOut:
    changes = body.changes()
    with wire_names(SESSION_FIELDS):
        view = tracking.get_entry(session, actor, id)
        update: dict[str, Any] = {}
        if "project_id" in changes:
            project_id = str(changes["project_id"])
            # Temporal.ist has no tasks: the session moves to the new project's own task.
            work = tracking.resolve_target(session, actor, project_id, None, None)
            update.update(project_id=project_id, task_id=str(work.task.id))
        if "description" in changes:
            update["notes"] = changes["description"] or None
        stop = "end_time" in changes and view.is_running
        if "end_time" in changes and not stop:
            update["ended_at"] = changes["end_time"]
        if update:
            view = tracking.update_entry(session, actor, id, TimeEntryUpdate(**update))
        if stop:
            view = tracking.stop_entry(session, actor, id, StopTimer(ended_at=changes["end_time"]))
    return SessionOut.of(view)


@router.delete("/sessions/{id}/", status_code=204, summary="Delete a session")
def delete_session(id: str, session: Session, actor: CurrentActor) -> Response:
    tracking.delete_entry(session, actor, id)
    return Response(status_code=204)


@router.post(
    "/sessions/{id}/close/",
    summary="End a running session now (idempotent)",
    description=(
        "Returns the closed session. When it was already closed the answer is still 200, "
        'wrapped as {"detail": "Session is already closed.", "session": {...}}.'
    ),
)
def close_session(id: str, session: Session, actor: CurrentActor) -> SessionOut | AlreadyClosedOut:
    view = tracking.get_entry(session, actor, id)
    if not view.is_running:
        return AlreadyClosedOut(detail="Session is already closed.", session=SessionOut.of(view))
    return SessionOut.of(tracking.stop_entry(session, actor, id, StopTimer()))
