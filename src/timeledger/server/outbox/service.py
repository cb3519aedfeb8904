"""The single way a service announces a change to other systems."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from timeledger.server.outbox.events import EVENT_TYPES
from timeledger.server.outbox.models import OutboxEvent


def emit(session: Session, account_id: uuid.UUID, type: str, data: dict[str, Any]) -> OutboxEvent:
    """Append an event to the outbox inside the caller's transaction: it commits with the
    change or vanishes with its rollback."""
    if type not in EVENT_TYPES:
        raise ValueError(f"{type!r} is not in the event catalogue")
    event = OutboxEvent(account_id=account_id, type=type, data=data)
    session.add(event)
    return event
