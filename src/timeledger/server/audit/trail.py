"""Recording the audit trail: who changed what, when, and through which surface.

Services call `record` (or `record_many` for a batch) in the transaction of the change, with
the object's snapshots before and after (None for a creation or a deletion); only the fields
that changed are kept. The rows commit with the change or vanish with its rollback, and the
database refuses to update or delete them (migration 0009_audit)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from timeledger.server.audit.models import AuditRecord
from timeledger.server.core.actor import Actor
from timeledger.server.core.clock import utcnow
from timeledger.server.core.ids import new_id
from timeledger.server.db import insert_now

Snapshot = Mapping[str, Any]

# The surface of changes no caller made: the forgotten-timer sweeper, account bootstrap,
# operator commands that act as no user.
SYSTEM = "system"
# Bookkeeping every write moves; the record's own occurred_at says when.
_NOT_RECORDED = frozenset({"created_at", "updated_at"})


def record(
    session: Session,
    actor: Actor | None,
    event: str,
    row: Any,
    before: Snapshot | None,
    after: Snapshot | None,
) -> None:
    """Record one change of `row` (anything with an id and an account); `event` names it
    like the outbox does: "<object type>.<action>". `actor` None: the system."""
    record_many(session, actor, event, [(row, before, after)])


def record_many(
    session: Session,
    actor: Actor | None,
    event: str,
    changes: Iterable[tuple[Any, Snapshot | None, Snapshot | None]],
) -> None:
    """Record a batch of changes of the same kind in one INSERT; unchanged rows are skipped."""
    object_type, _, action = event.partition(".")
    now = utcnow()
    rows = []
    for row, before, after in changes:
        old, new = _changed(before, after)
        if old is not None and new is not None and not old and not new:
            continue
        rows.append(
            {
                "id": new_id(),
                "account_id": _account_of(row),
                "occurred_at": now,
                "user_id": actor.user_id if actor else None,
                "api_key_id": actor.api_key_id if actor else None,
                "surface": actor.surface if actor else SYSTEM,
                "object_type": object_type,
                "object_id": row.id,
                "action": action,
                "before": old,
                "after": new,
            }
        )
    if rows:
        insert_now(session, AuditRecord, rows)


def _changed(
    before: Snapshot | None, after: Snapshot | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(before, after) restricted to the fields that differ; a side that does not exist
    (creation, deletion) stays None and the other keeps every field."""
    if before is None or after is None:
        whole = before if after is None else after
        assert whole is not None
        return (None, _recorded(whole)) if before is None else (_recorded(whole), None)
    names = [k for k in before.keys() | after.keys() if before.get(k) != after.get(k)]
    names = sorted(k for k in names if k not in _NOT_RECORDED)
    return {k: before.get(k) for k in names}, {k: after.get(k) for k in names}


def _recorded(snapshot: Snapshot) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if k not in _NOT_RECORDED}


def _account_of(row: Any) -> uuid.UUID:
    """The account a recorded object belongs to; an account is its own."""
    account_id: uuid.UUID = getattr(row, "account_id", None) or row.id
    return account_id
