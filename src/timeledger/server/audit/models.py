"""The audit log: one row per change to a recorded object, never updated or deleted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from timeledger.server.core.models import IdMixin
from timeledger.server.core.types import JSONType, UTCDateTime
from timeledger.server.db import Base


class AuditRecord(IdMixin, Base):
    """Who (user and API key; both null for the system's own changes), when, through which
    surface, what (object type, id, action) and the changed fields before and after.

    user_id and api_key_id carry no foreign key: the record outlives what it names. The
    account's does: an account's history is deleted with the account and only then (the
    migration's triggers refuse every other UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # Newest first within an account (ids are time-ordered), and one object's history.
        Index("ix_audit_log_account_id", "account_id", "id"),
        Index("ix_audit_log_object_id", "object_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    surface: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
