"""Columns every table shares."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from timeledger.server.core.clock import utcnow
from timeledger.server.core.ids import new_id
from timeledger.server.core.types import UTCDateTime


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AccountScoped(IdMixin, TimestampMixin):
    """A row that belongs to one account; every query filters on account_id."""

    @declared_attr
    def account_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 (SQLAlchemy passes the class)
        return mapped_column(Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
