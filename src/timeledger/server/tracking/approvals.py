"""Approval: unsubmitted -> submitted -> approved, or submitted -> rejected (changes requested,
reason kept) -> submitted. Approved entries are locked until an admin unlocks them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.clock import utcnow
from timeledger.server.core.errors import Conflict, NotFound, ValidationFailed
from timeledger.server.core.ids import parse_id
from timeledger.server.outbox.service import emit
from timeledger.server.tracking.models import TimeEntry
from timeledger.server.tracking.schemas import ChangeRequest, Selection
from timeledger.server.tracking.service import payload, viewer, visible_entries
from timeledger.server.tracking.views import EntryView


def _selected(
    session: Session, actor: Actor, selection: Selection, states: Iterable[str]
) -> list[TimeEntry]:
    """Explicit ids must all exist and be in one of `states` (else 404/409 naming the id);
    a user + date range picks the entries in those states."""
    states = tuple(states)
    if selection.ids:
        ids = [parse_id(raw) for raw in selection.ids]
        found = {
            e.id: e
            for e in session.scalars(
                visible_entries(actor).where(TimeEntry.id.in_([i for i in ids if i is not None]))
            )
        }
        entries = []
        for raw, uid in zip(selection.ids, ids, strict=True):
            entry = found.get(uid) if uid else None
            if entry is None:
                raise NotFound(f"time entry {raw}")
            if entry.approval_status not in states:
                raise Conflict(
                    f"time entry {raw} is {entry.approval_status}; this action needs "
                    f"{' or '.join(states)}",
                    code="invalid_state",
                )
            entries.append(entry)
        return entries
    if selection.user_id is None and selection.from_ is None and selection.to is None:
        raise ValidationFailed("send ids, or user_id with from and to", field="ids")
    stmt = visible_entries(actor).where(TimeEntry.approval_status.in_(states))
    user = parse_id(selection.user_id) if selection.user_id else actor.user_id
    stmt = stmt.where(TimeEntry.user_id == user)
    if selection.from_ is not None:
        stmt = stmt.where(TimeEntry.spent_date >= selection.from_)
    if selection.to is not None:
        stmt = stmt.where(TimeEntry.spent_date <= selection.to)
    return list(session.scalars(stmt.order_by(TimeEntry.spent_date, TimeEntry.id)))


def _transition(
    session: Session,
    actor: Actor,
    entries: list[TimeEntry],
    status: str,
    event: str,
    reason: str | None = None,
) -> list[EntryView]:
    now = utcnow()
    for entry in entries:
        if entry.is_running:
            raise Conflict(f"time entry {entry.id} is running; stop it first", code="timer_running")
        entry.approval_status = status
        entry.rejection_reason = reason
        if status == "submitted":
            entry.submitted_at = now
        if status == "approved":
            entry.approved_at, entry.approved_by_id = now, actor.user_id
        elif status == "unsubmitted":
            entry.approved_at = entry.approved_by_id = None
    session.flush()
    for entry in entries:
        emit(session, actor.account_id, event, payload(entry))
    view = viewer(session, actor)
    return [view.view(entry) for entry in entries]


def submit(session: Session, actor: Actor, selection: Selection) -> list[EntryView]:
    if selection.user_id and parse_id(selection.user_id) != actor.user_id:
        actor.require(Role.manager, "submitting other users' time")
    entries = _selected(session, actor, selection, ("unsubmitted", "rejected"))
    return _transition(session, actor, entries, "submitted", "time_entry.submitted")


def approve(session: Session, actor: Actor, selection: Selection) -> list[EntryView]:
    actor.require(Role.manager, "approving time")
    entries = _selected(session, actor, selection, ("submitted",))
    return _transition(session, actor, entries, "approved", "time_entry.approved")


def request_changes(session: Session, actor: Actor, request: ChangeRequest) -> list[EntryView]:
    actor.require(Role.manager, "requesting changes to time")
    entries = _selected(session, actor, request, ("submitted",))
    return _transition(
        session, actor, entries, "rejected", "time_entry.changes_requested", reason=request.reason
    )


def unlock(session: Session, actor: Actor, selection: Selection) -> list[EntryView]:
    actor.require(Role.admin, "unlocking approved time")
    entries = _selected(session, actor, selection, ("approved",))
    billed = next((entry for entry in entries if entry.is_billed), None)
    if billed is not None:
        raise Conflict(
            f"time entry {billed.id} is billed on an invoice and cannot be unlocked", code="locked"
        )
    return _transition(session, actor, entries, "unsubmitted", "time_entry.unlocked")
