"""Outcomes: logging one (as the time entry it is recorded as) and reading them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from timeledger.server.core.actor import Actor
from timeledger.server.core.crud import Page, paginate
from timeledger.server.core.errors import NotFound, ValidationFailed
from timeledger.server.core.ids import parse_id
from timeledger.server.outcomes import projection
from timeledger.server.outcomes.models import Outcome
from timeledger.server.outcomes.schemas import OutcomeCreate, OutcomeFilters
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.models import TimeEntry
from timeledger.server.tracking.schemas import METADATA_MAX_BYTES, TimeEntryCreate, metadata_size
from timeledger.server.tracking.views import EntryView


@dataclass(frozen=True)
class OutcomeView:
    outcome: Outcome
    entry: EntryView

    @property
    def revenue(self) -> Decimal:
        return self.outcome.revenue


def log_outcome(session: Session, actor: Actor, command: OutcomeCreate) -> OutcomeView:
    """Record an outcome: a time entry of 0 hours whose metadata carries the outcome keys
    exactly as the Keito SDK writes them (so this and outcomes.log() read the same), with
    the description as its notes. The given fields win over same-named metadata keys."""
    facts = projection.Facts(
        type=command.type,
        quantity=command.quantity,
        success=command.success,
        unit_price=command.unit_price,
        evidence=command.evidence,
    )
    metadata = {**(command.metadata or {}), **projection.metadata_for(facts)}
    if metadata_size(metadata) > METADATA_MAX_BYTES:
        raise ValidationFailed(
            f"metadata with the outcome's fields (evidence included) must be at most "
            f"{METADATA_MAX_BYTES} bytes as JSON",
            field="metadata",
        )
    entry = tracking.create_entry(
        session,
        actor,
        TimeEntryCreate(
            project_id=command.project_id,
            task_id=command.task_id,
            spent_date=command.spent_date,
            user_id=command.user_id,
            hours=Decimal(0),
            notes=command.description,
            billable=command.billable,
            source=command.source,
            metadata=metadata,
        ),
    )
    outcome = session.get(Outcome, entry.entry.id)
    assert outcome is not None  # the entry's write made it (outcomes/projection.py)
    return OutcomeView(outcome, entry)


def _visible(session: Session, actor: Actor, filters: OutcomeFilters) -> Select[Outcome]:
    view = tracking.viewer(session, actor)
    entries = tracking.apply_filters(tracking.visible_entries(actor), filters, view)
    stmt = select(Outcome).join(TimeEntry, TimeEntry.id == Outcome.id)
    if entries.whereclause is not None:
        stmt = stmt.where(entries.whereclause)
    stmt = stmt.where(Outcome.account_id == actor.account_id)
    if filters.from_ is not None:
        stmt = stmt.where(Outcome.spent_date >= filters.from_)
    if filters.to is not None:
        stmt = stmt.where(Outcome.spent_date <= filters.to)
    if filters.type is not None:
        stmt = stmt.where(Outcome.type == filters.type)
    if filters.success is not None:
        stmt = stmt.where(Outcome.success.is_(filters.success))
    return stmt


def list_outcomes(
    session: Session, actor: Actor, filters: OutcomeFilters, *, page: int, per_page: int
) -> Page[OutcomeView]:
    stmt = _visible(session, actor, filters).order_by(Outcome.spent_date.desc(), Outcome.id.desc())
    result = paginate(session, stmt, page, per_page)
    view = tracking.viewer(session, actor)
    items = [OutcomeView(o, view.view(o.entry)) for o in result.items]
    return Page(items, result.total, result.page, result.per_page)


def get_outcome(session: Session, actor: Actor, outcome_id: str) -> OutcomeView:
    uid = parse_id(outcome_id)
    stmt = _visible(session, actor, OutcomeFilters()).where(Outcome.id == uid)
    outcome = session.scalar(stmt) if uid else None
    if outcome is None:
        raise NotFound("outcome")
    return OutcomeView(outcome, tracking.viewer(session, actor).view(outcome.entry))
