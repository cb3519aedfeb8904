"""The single way a service announces a change to other systems."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from timeledger.server.core.ids import new_id
from timeledger.server.db import insert_now
from timeledger.server.outbox.events import EVENT_TYPES
from timeledger.server.outbox.models import OutboxEvent


def emit(
    session: Session,
    account_id: uuid.UUID,
    type: str,
    data: dict[str, Any],
    *,
    dispatched_at: datetime | None = None,
) -> uuid.UUID:
    """Append an event to the outbox inside the caller's transaction: it commits with the
    change or vanishes with its rollback. Returns its id, which orders delivery.
    `dispatched_at`: the caller delivers it itself (no fan-out to subscriptions)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"{type!r} is not in the event catalogue")
    event_id = new_id()
    row = {
        "id": event_id,
        "account_id": account_id,
        "type": type,
        "data": data,
        "dispatched_at": dispatched_at,
    }
    insert_now(session, OutboxEvent, [row])
    return event_id
