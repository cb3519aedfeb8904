from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    case,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timeledger.server.core.models import AccountScoped, IdMixin, TimestampMixin
from timeledger.server.core.money import AMOUNT_SCALE
from timeledger.server.core.types import Fixed, JSONType, UTCDateTime
from timeledger.server.db import Base


class Account(IdMixin, TimestampMixin, Base):
    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    week_start_day: Mapped[str] = mapped_column(String(9), default="Monday")
    plan: Mapped[str] = mapped_column(String(16), default="pro")
    # Requests per hour per API key when not the plan's (accounts/plans.py); operators only.
    rate_limit_per_hour: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Raised by the database on every change to the account, its users or its keys
    # (triggers of migration 0013; credentials.py).
    credentials_version: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", info={"internal": True}
    )


class User(AccountScoped, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("account_id", "email", name="uq_users_account_email"),)

    email: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    telephone: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    user_type: Mapped[str] = mapped_column(String(8), default="human")
    role: Mapped[str] = mapped_column(String(8), default="member")
    is_contractor: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    weekly_capacity: Mapped[int | None] = mapped_column(Integer)  # seconds
    default_hourly_rate: Mapped[Decimal | None] = mapped_column(Fixed(AMOUNT_SCALE))
    cost_rate: Mapped[Decimal | None] = mapped_column(Fixed(AMOUNT_SCALE))
    has_access_to_all_future_projects: Mapped[bool] = mapped_column(Boolean, default=False)


def person_name(first: str | None, last: str | None, email: str | None) -> str:
    """How a person is named everywhere (lists, reports, exports): first and last name,
    else either, else the email address."""
    return " ".join(part for part in (first, last) if part) or (email or "")


def person_name_sql(first: Any, last: Any, email: Any) -> ColumnElement[str]:
    """person_name, in SQL (for text the database makes: exports)."""
    first, last = func.coalesce(first, ""), func.coalesce(last, "")
    return case(
        ((first != "") & (last != ""), first + " " + last),
        (first != "", first),
        (last != "", last),
        else_=func.coalesce(email, ""),
    )


class ApiKey(AccountScoped, Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_id", "user_id"),)

    # The public half of the token, so a lookup needs no scan and no secret in an index.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    # Lazy on purpose: authentication loads the user itself, and a many-to-one lazy load
    # is served from the identity map without a query.
    user: Mapped[User] = relationship()
    name: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
