from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from timeledger.server.core.models import AccountScoped
from timeledger.server.core.types import UTCDateTime
from timeledger.server.db import Base


class IdempotencyRecord(AccountScoped, Base):
    """A write sent with an Idempotency-Key: claimed before it runs (the unique constraint
    decides which of concurrent requests runs), its response kept once it completed."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("account_id", "api_key_id", "key", name="uq_idempotency_keys_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    api_key_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("api_keys.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path, query and body: a reuse of the key for another request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: still running
    content_type: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
