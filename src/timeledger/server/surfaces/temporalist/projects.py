"""/projects/: Temporal.ist projects are our projects, billed at their own rate. Their
"is_active" (automatic tracking) is our `auto_track`, not archiving."""

from __future__ import annotations

from typing import Any

from timeledger.server.catalog import service as catalog
from timeledger.server.catalog.schemas import ProjectCreate, ProjectUpdate
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.temporalist.deps import Caller, Session, every
from timeledger.server.surfaces.temporalist.errors import wire_names
from timeledger.server.surfaces.temporalist.wire import (
    ERROR_RESPONSES,
    PROJECT_FIELDS,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
)

router = SurfaceRouter(tags=["projects"], responses=ERROR_RESPONSES)


def _domain(changes: dict[str, Any]) -> dict[str, Any]:
    if "is_active" in changes:
        changes["auto_track"] = changes.pop("is_active")
    if changes.get("client_id") is not None:
        changes["client_id"] = str(changes["client_id"])
    return changes


@router.get("/projects/", summary="List projects, newest first")
def list_projects(session: Session, caller: Caller) -> list[ProjectOut]:
    rows = every(
        lambda page, per_page: catalog.list_projects(
            session, caller.actor, page=page, per_page=per_page
        )
    )
    return [ProjectOut.of(row, caller.account) for row in rows]


@router.post("/projects/", status_code=201, summary="Create a project")
def create_project(body: ProjectIn, session: Session, caller: Caller) -> ProjectOut:
    with wire_names(PROJECT_FIELDS):
        # A Temporal.ist project bills its sessions at its hourly_rate (else its client's).
        command = ProjectCreate(**_domain(body.model_dump()), bill_by="Project")
        row = catalog.create_project(session, caller.actor, command)
    return ProjectOut.of(row, caller.account)


@router.get("/projects/{id}/", summary="Get a project")
def get_project(id: str, session: Session, caller: Caller) -> ProjectOut:
    return ProjectOut.of(catalog.get_project(session, caller.actor, id), caller.account)


@router.patch("/projects/{id}/", summary="Update a project")
def update_project(id: str, body: ProjectPatch, session: Session, caller: Caller) -> ProjectOut:
    with wire_names(PROJECT_FIELDS):
        command = ProjectUpdate(**_domain(body.changes()))
        row = catalog.update_project(session, caller.actor, id, command)
    return ProjectOut.of(row, caller.account)
