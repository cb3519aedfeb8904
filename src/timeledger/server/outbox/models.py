from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from timeledger.server.core.models import AccountScoped
from timeledger.server.core.types import JSONType, UTCDateTime
from timeledger.server.db import Base


class OutboxEvent(AccountScoped, Base):
    """An event written in the same transaction as the change it describes."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_undispatched", "dispatched_at", "id"),)

    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
