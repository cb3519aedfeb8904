"""How a time entry becomes an outcome, and the outcome row kept in step with it.

The Keito SDK's `outcomes.log()` sends a plain time entry: `hours: 0`, `source: agent`,
`notes` = the description, and flat metadata keys `outcome_type`, `outcome_quantity`
(default 1), `outcome_success` (default true), `outcome_unit_price` and `outcome_evidence`
(both optional). POST /outcomes writes exactly that entry too, so both paths end here:

    an entry is an outcome  <=>  it is not running, its duration is 0, and its metadata
                                 carries `outcome_type`

On every write of an entry (create, update, stop, restart, delete) `sync` makes the outcome
row agree with that rule: created, rewritten, or removed. Its amount is unit_price x quantity
half-up to the currency's minor unit, and counts as revenue only when the outcome succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timeledger.server.audit import trail
from timeledger.server.core.actor import Actor
from timeledger.server.core.crud import apply_changes, snapshot
from timeledger.server.core.errors import ValidationFailed
from timeledger.server.core.money import (
    MAX_AMOUNT,
    MAX_UNIT_PRICE,
    UNIT_PRICE_SCALE,
    fits_scale,
    round_money,
    to_decimal,
)
from timeledger.server.outbox.service import emit
from timeledger.server.outcomes.models import Outcome
from timeledger.server.tracking.models import TimeEntry

# The reference's constants (Keito Python SDK OutcomeTypes); any other string is a custom type.
OUTCOME_TYPES = (
    "ticket_resolved",
    "lead_qualified",
    "code_review_completed",
    "pr_merged",
    "deployment_completed",
    "test_suite_passed",
    "document_generated",
    "data_pipeline_run",
    "alert_triaged",
    "customer_reply_sent",
)
TYPE_MAX_LENGTH = 64
MAX_QUANTITY = 1_000_000_000
KEYS = (
    "outcome_type",
    "outcome_quantity",
    "outcome_success",
    "outcome_unit_price",
    "outcome_evidence",
)


@dataclass(frozen=True)
class Facts:
    type: str
    quantity: int
    success: bool
    unit_price: Decimal | None
    evidence: dict[str, Any] | None


def _invalid(key: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"metadata.{key} {message}", field=f"metadata.{key}")


def check_type(value: Any, key: str = "outcome_type") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise _invalid(key, "must be a non-empty string")
    if len(text) > TYPE_MAX_LENGTH:
        raise _invalid(key, f"must be at most {TYPE_MAX_LENGTH} characters")
    return str(text)


def check_quantity(value: Any, key: str = "outcome_quantity") -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _invalid(key, "must be a whole number")
    if isinstance(value, float | Decimal) and value != int(value):
        raise _invalid(key, "must be a whole number")
    quantity = int(value)
    if not 0 <= quantity <= MAX_QUANTITY:
        raise _invalid(key, f"must be between 0 and {MAX_QUANTITY}")
    return quantity


def check_unit_price(value: Any, key: str = "outcome_unit_price") -> Decimal:
    try:
        price = to_decimal(value)
    except ValueError:
        raise _invalid(key, "must be a number") from None
    if price < 0:
        raise _invalid(key, "must not be negative")
    if price > MAX_UNIT_PRICE:
        raise _invalid(key, f"must be at most {MAX_UNIT_PRICE}")
    if not fits_scale(price, UNIT_PRICE_SCALE):
        raise _invalid(key, f"may have at most {UNIT_PRICE_SCALE} decimal places")
    return price


def read(entry: TimeEntry) -> Facts | None:
    """The outcome an entry records, or None when it is not one (see the module's rule);
    ValidationFailed names the metadata key when it is one but a value is unusable."""
    meta = entry.meta or {}
    if entry.is_running or entry.duration_seconds != 0 or meta.get("outcome_type") is None:
        return None
    success = meta.get("outcome_success", True)
    if not isinstance(success, bool):
        raise _invalid("outcome_success", "must be true or false")
    evidence = meta.get("outcome_evidence")
    if evidence is not None and not isinstance(evidence, dict):
        raise _invalid("outcome_evidence", "must be a JSON object")
    price = meta.get("outcome_unit_price")
    return Facts(
        type=check_type(meta["outcome_type"]),
        quantity=check_quantity(meta.get("outcome_quantity", 1)),
        success=success,
        unit_price=None if price is None else check_unit_price(price),
        evidence=evidence,
    )


def metadata_for(facts: Facts) -> dict[str, Any]:
    """The flat metadata keys of an outcome, exactly as the Keito SDK writes them. A unit
    price goes in as a JSON number when a double holds it exactly, else as a string."""
    data: dict[str, Any] = {
        "outcome_type": facts.type,
        "outcome_quantity": facts.quantity,
        "outcome_success": facts.success,
    }
    if facts.unit_price is not None:
        as_float = float(facts.unit_price)
        exact = Decimal(repr(as_float)) == facts.unit_price
        data["outcome_unit_price"] = as_float if exact else str(facts.unit_price)
    if facts.evidence is not None:
        data["outcome_evidence"] = facts.evidence
    return data


def amount_of(facts: Facts, currency: str) -> Decimal:
    if facts.unit_price is None:
        return Decimal(0)
    amount = round_money(facts.unit_price * facts.quantity, currency)
    if amount > MAX_AMOUNT:
        raise _invalid("outcome_quantity", f"times the unit price exceeds {MAX_AMOUNT}")
    return amount


def payload(row: Outcome) -> dict[str, Any]:
    data = snapshot(row)
    data["time_entry_id"] = data["id"]
    data["revenue"] = str(row.revenue)
    return data


def sync(
    session: Session, actor: Actor | None, entry: TimeEntry, *, no_row_yet: bool = False
) -> Outcome | None:
    """Make the entry's outcome row agree with the entry (after the entry was flushed);
    `no_row_yet`: the entry cannot have a row yet: it was just created, or it was a running
    timer until now (never an outcome), so there is nothing to look for."""
    facts = read(entry)
    if facts is None:
        if not no_row_yet:
            forget(session, actor, entry)
        return None
    row = None if no_row_yet else session.get(Outcome, entry.id)
    values: dict[str, Any] = {
        "user_id": entry.user_id,
        "project_id": entry.project_id,
        "task_id": entry.task_id,
        "spent_date": entry.spent_date,
        "type": facts.type,
        "unit_price": facts.unit_price,
        "quantity": facts.quantity,
        "success": facts.success,
        "evidence": facts.evidence,
        # The entry's stored currency (reports/derived.py set it when the entry was flushed).
        "amount": amount_of(facts, entry.currency),
        "currency": entry.currency,
    }
    if row is None:
        row = Outcome(id=entry.id, account_id=entry.account_id, **values)
        row.entry = entry
        session.add(row)
        session.flush()
        after = payload(row)
        emit(session, entry.account_id, "outcome.created", after)
        trail.record(session, actor, "outcome.created", row, None, after)
        return row
    before = payload(row)
    changed = apply_changes(row, values)
    if changed:
        session.flush()
        after = payload(row)
        data = {**after, "changed_fields": sorted(changed)}
        emit(session, entry.account_id, "outcome.updated", data)
        trail.record(session, actor, "outcome.updated", row, before, after)
    return row


def forget(session: Session, actor: Actor | None, entry: TimeEntry) -> None:
    """The entry is going (or stopped being an outcome): its outcome row goes first."""
    if session.scalar(select(Outcome.id).where(Outcome.id == entry.id)) is None:
        return
    row = session.get(Outcome, entry.id)
    assert row is not None
    data = payload(row)
    session.delete(row)
    session.flush()
    emit(session, entry.account_id, "outcome.deleted", data)
    trail.record(session, actor, "outcome.deleted", row, data, None)
