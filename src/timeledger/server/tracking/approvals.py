"""Approval: unsubmitted -> submitted -> approved, or submitted -> rejected (changes requested,
reason kept) -> submitted. Approved rows are locked until an admin unlocks them.

The rules are the same for every ledger row that carries the Approvable columns (time
entries here, expenses in expenses/); a `Ledger` says which rows, how they read and what
their events are called, and the functions below apply the rules to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from timeledger.server.audit import trail
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.clock import utcnow
from timeledger.server.core.errors import Conflict, NotFound, ValidationFailed
from timeledger.server.core.ids import parse_id
from timeledger.server.outbox.service import emit
from timeledger.server.tracking.models import TimeEntry
from timeledger.server.tracking.schemas import ChangeRequest, Selection
from timeledger.server.tracking.service import (
    payload,
    settle_overdue,
    viewer,
    visible_entries,
)
from timeledger.server.tracking.views import EntryView

View = TypeVar("View")


@dataclass(frozen=True)
class Ledger(Generic[View]):
    """One kind of approvable row: `model` has the Approvable columns plus id, user_id,
    spent_date and account_id."""

    model: Any
    what: str  # "time entry", one row in messages
    noun: str  # "time", the rows in general in messages
    resource: str  # "time_entry", the event prefix
    visible: Callable[[Actor], Select[Any]]
    payload: Callable[[Any], dict[str, Any]]
    render: Callable[[Session, Actor, list[Any]], list[View]]
    # Why a row cannot move through approval right now (a running timer), or None.
    blocked: Callable[[Any], str | None] = lambda _row: None


def _render_entries(session: Session, actor: Actor, entries: list[TimeEntry]) -> list[EntryView]:
    view = viewer(session, actor)
    return [view.view(entry) for entry in entries]


def _running(entry: TimeEntry) -> str | None:
    return f"time entry {entry.id} is running; stop it first" if entry.is_running else None


TIME_ENTRIES: Ledger[EntryView] = Ledger(
    model=TimeEntry,
    what="time entry",
    noun="time",
    resource="time_entry",
    visible=visible_entries,
    payload=payload,
    render=_render_entries,
    blocked=_running,
)


def _selected(
    session: Session, actor: Actor, ledger: Ledger[Any], selection: Selection, states: Iterable[str]
) -> list[Any]:
    """Explicit ids must all exist and be in one of `states` (else 404/409 naming the id);
    a user + date range picks the rows in those states."""
    states = tuple(states)
    model = ledger.model
    if selection.ids:
        ids = [parse_id(raw) for raw in selection.ids]
        found = {
            row.id: row
            for row in session.scalars(
                ledger.visible(actor).where(model.id.in_([i for i in ids if i is not None]))
            )
        }
        rows = []
        for raw, uid in zip(selection.ids, ids, strict=True):
            row = found.get(uid) if uid else None
            if row is None:
                raise NotFound(f"{ledger.what} {raw}")
            if row.approval_status not in states:
                raise Conflict(
                    f"{ledger.what} {raw} is {row.approval_status}; this action needs "
                    f"{' or '.join(states)}",
                    code="invalid_state",
                )
            rows.append(row)
        return rows
    if selection.user_id is None and selection.from_ is None and selection.to is None:
        raise ValidationFailed("send ids, or user_id with from and to", field="ids")
    stmt = ledger.visible(actor).where(model.approval_status.in_(states))
    user = parse_id(selection.user_id) if selection.user_id else actor.user_id
    stmt = stmt.where(model.user_id == user)
    if selection.from_ is not None:
        stmt = stmt.where(model.spent_date >= selection.from_)
    if selection.to is not None:
        stmt = stmt.where(model.spent_date <= selection.to)
    return list(session.scalars(stmt.order_by(model.spent_date, model.id)))


def _transition(
    session: Session,
    actor: Actor,
    ledger: Ledger[View],
    rows: list[Any],
    status: str,
    action: str,
    reason: str | None = None,
) -> list[View]:
    now = utcnow()
    before = [ledger.payload(row) for row in rows]
    for row in rows:
        problem = ledger.blocked(row)
        if problem is not None:
            raise Conflict(problem, code="timer_running")
        row.approval_status = status
        row.rejection_reason = reason
        if status == "submitted":
            row.submitted_at = now
        if status == "approved":
            row.approved_at, row.approved_by_id = now, actor.user_id
        elif status == "unsubmitted":
            row.approved_at = row.approved_by_id = None
    session.flush()
    event = f"{ledger.resource}.{action}"
    after = [ledger.payload(row) for row in rows]
    for data in after:
        emit(session, actor.account_id, event, data)
    trail.record_many(session, actor, event, zip(rows, before, after, strict=True))
    return ledger.render(session, actor, rows)


def submit_rows(
    session: Session, actor: Actor, ledger: Ledger[View], selection: Selection
) -> list[View]:
    if selection.user_id and parse_id(selection.user_id) != actor.user_id:
        actor.require(Role.manager, f"submitting other users' {ledger.noun}")
    rows = _selected(session, actor, ledger, selection, ("unsubmitted", "rejected"))
    return _transition(session, actor, ledger, rows, "submitted", "submitted")


def approve_rows(
    session: Session, actor: Actor, ledger: Ledger[View], selection: Selection
) -> list[View]:
    actor.require(Role.manager, f"approving {ledger.noun}")
    rows = _selected(session, actor, ledger, selection, ("submitted",))
    return _transition(session, actor, ledger, rows, "approved", "approved")


def request_changes_to_rows(
    session: Session, actor: Actor, ledger: Ledger[View], request: ChangeRequest
) -> list[View]:
    actor.require(Role.manager, f"requesting changes to {ledger.noun}")
    rows = _selected(session, actor, ledger, request, ("submitted",))
    return _transition(
        session, actor, ledger, rows, "rejected", "changes_requested", reason=request.reason
    )


def unlock_rows(
    session: Session, actor: Actor, ledger: Ledger[View], selection: Selection
) -> list[View]:
    actor.require(Role.admin, f"unlocking approved {ledger.noun}")
    rows = _selected(session, actor, ledger, selection, ("approved",))
    billed = next((row for row in rows if row.is_billed), None)
    if billed is not None:
        raise Conflict(
            f"{ledger.what} {billed.id} is billed on an invoice and cannot be unlocked",
            code="locked",
        )
    return _transition(session, actor, ledger, rows, "unsubmitted", "unlocked")


# --- time entries ---------------------------------------------------------------------------


def submit(session: Session, actor: Actor, selection: Selection) -> list[EntryView]:
    settle_overdue(session, actor)  # a timer past the auto-stop limit is a stopped entry
    return submit_rows(session, actor, TIME_ENTRIES, selection)


def approve(session: Session, actor: Actor, selection: Selection) -> list[EntryView]:
    return approve_rows(session, actor, TIME_ENTRIES, selection)


def request_changes(session: Session, actor: Actor, request: ChangeRequest) -> list[EntryView]:
    return request_changes_to_rows(session, actor, TIME_ENTRIES, request)


def unlock(session: Session, actor: Actor, selection: Selection) -> list[EntryView]:
    return unlock_rows(session, actor, TIME_ENTRIES, selection)


# For review flows without a submit step (AlgaPSA's): a manager reviews entries in whatever
# state they are, and entries not yet submitted are submitted first, by the reviewer, so the
# log still shows every step.
UNREVIEWED = ("unsubmitted", "rejected", "submitted")


def _submitted_for_review(
    session: Session, actor: Actor, selection: Selection, doing: str
) -> list[TimeEntry]:
    actor.require(Role.manager, doing)
    settle_overdue(session, actor)
    rows: list[TimeEntry] = _selected(session, actor, TIME_ENTRIES, selection, UNREVIEWED)
    pending = [row for row in rows if row.approval_status != "submitted"]
    if pending:
        _transition(session, actor, TIME_ENTRIES, pending, "submitted", "submitted")
    return rows


def approve_unreviewed(session: Session, actor: Actor, selection: Selection) -> list[EntryView]:
    rows = _submitted_for_review(session, actor, selection, "approving time")
    return _transition(session, actor, TIME_ENTRIES, rows, "approved", "approved")


def request_changes_to_unreviewed(
    session: Session, actor: Actor, request: ChangeRequest
) -> list[EntryView]:
    rows = _submitted_for_review(session, actor, request, "requesting changes to time")
    return _transition(
        session, actor, TIME_ENTRIES, rows, "rejected", "changes_requested", reason=request.reason
    )
