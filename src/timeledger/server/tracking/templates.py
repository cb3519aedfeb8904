"""Saved presets of time entries. Each belongs to the user who made it; managers and above
see everyone's."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.crud import (
    Page,
    create_and_emit,
    delete_and_emit,
    paginate,
    scoped,
    update_and_emit,
)
from timeledger.server.core.errors import NotFound
from timeledger.server.core.ids import parse_id
from timeledger.server.tracking.models import TimeEntryTemplate
from timeledger.server.tracking.schemas import (
    FromTemplate,
    TemplateCreate,
    TemplateUpdate,
    TimeEntryCreate,
)
from timeledger.server.tracking.service import create_entry, resolve_work
from timeledger.server.tracking.views import EntryView

RESOURCE = "time_entry_template"


def _visible(actor: Actor) -> Any:
    stmt = scoped(TimeEntryTemplate, actor.account_id)
    if actor.role < Role.manager:
        stmt = stmt.where(TimeEntryTemplate.user_id == actor.user_id)
    return stmt


def list_templates(
    session: Session, actor: Actor, *, page: int, per_page: int, **_: Any
) -> Page[TimeEntryTemplate]:
    stmt = _visible(actor).order_by(TimeEntryTemplate.id.desc())
    return paginate(session, stmt, page, per_page)


def get_template(session: Session, actor: Actor, template_id: str) -> TimeEntryTemplate:
    uid = parse_id(template_id)
    row = session.scalar(_visible(actor).where(TimeEntryTemplate.id == uid)) if uid else None
    if row is None:
        raise NotFound("time entry template")
    assert isinstance(row, TimeEntryTemplate)
    return row


def _values(
    session: Session,
    actor: Actor,
    command: TemplateCreate | TemplateUpdate,
    current: TimeEntryTemplate | None = None,
) -> dict[str, Any]:
    values = command.changes() if current else command.model_dump()
    if "metadata" in values:
        values["meta"] = values.pop("metadata")
    if {"project_id", "task_id"} & values.keys():
        work = resolve_work(
            session,
            actor,
            values.get("project_id", str(current.project_id) if current else ""),
            values.get("task_id", str(current.task_id) if current else ""),
        )
        values["project_id"], values["task_id"] = work.project.id, work.task.id
    return values


def create_template(session: Session, actor: Actor, command: TemplateCreate) -> TimeEntryTemplate:
    row = TimeEntryTemplate(
        account_id=actor.account_id, user_id=actor.user_id, **_values(session, actor, command)
    )
    return create_and_emit(session, actor, row, RESOURCE)


def update_template(
    session: Session, actor: Actor, template_id: str, command: TemplateUpdate
) -> TimeEntryTemplate:
    row = get_template(session, actor, template_id)
    updated = update_and_emit(session, actor, row, _values(session, actor, command, row), RESOURCE)
    session.refresh(updated, ["project", "task"])
    return updated


def delete_template(session: Session, actor: Actor, template_id: str) -> None:
    delete_and_emit(session, actor, get_template(session, actor, template_id), RESOURCE)


def create_from_template(
    session: Session, actor: Actor, template_id: str, command: FromTemplate
) -> EntryView:
    template = get_template(session, actor, template_id)
    overrides = command.model_dump(exclude_unset=True)
    entry = TimeEntryCreate(
        project_id=str(template.project_id),
        task_id=str(template.task_id),
        spent_date=command.spent_date,
        notes=overrides.get("notes", template.notes),
        hours=overrides.get("hours", template.hours if not command.is_running else None),
        billable=template.billable,
        metadata=template.meta,
        user_id=command.user_id,
        is_running=command.is_running,
        started_time=command.started_time,
        source=command.source,
        replace_running=command.replace_running,
    )
    return create_entry(session, actor, entry)
