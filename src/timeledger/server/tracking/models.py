from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from timeledger.server.accounts.models import User
from timeledger.server.catalog.models import Project, Task
from timeledger.server.core.models import AccountScoped
from timeledger.server.core.money import AMOUNT_SCALE
from timeledger.server.core.types import Fixed, JSONType, UTCDateTime
from timeledger.server.db import Base


class Approvable:
    """Approval state of a ledger row (time entries and expenses alike): unsubmitted ->
    submitted -> approved, or rejected with a reason; approved or billed rows are locked."""

    approval_status: Mapped[str] = mapped_column(String(12), default="unsubmitted")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_billed: Mapped[bool] = mapped_column(Boolean, default=False)

    @declared_attr
    def approved_by_id(cls) -> Mapped[uuid.UUID | None]:  # noqa: N805 (the class)
        return mapped_column(Uuid, ForeignKey("users.id"))

    @declared_attr
    def invoice_id(cls) -> Mapped[uuid.UUID | None]:  # noqa: N805 (the class)
        """The invoice that bills this row (set with is_billed; billing/tracked.py)."""
        return mapped_column(Uuid, ForeignKey("invoices.id"), index=True)


# Columns derived from the others (reports/derived.py): not part of an entry's events.
FIGURE_COLUMNS = ("currency", "rounded_seconds", "billable_minor", "cost_minor")
# Every column the reports read besides account and date, so their index covers them.
FIGURES_INDEXED = (
    "is_running",
    "user_id",
    "project_id",
    "task_id",
    "source",
    "billable",
    "is_billed",
    "duration_seconds",
    *FIGURE_COLUMNS,
)


class TimeEntry(Approvable, AccountScoped, Base):
    """Finished work or a running timer (is_running). Duration is stored in seconds; for a
    running timer, `duration_seconds` holds what earlier runs accumulated and the live part
    is now - timer_started_at."""

    __tablename__ = "time_entries"
    __table_args__ = (
        # At most one running timer per user, enforced by the database itself. The predicate
        # is spelled as each engine renders `WHERE time_entries.is_running`, so the planner
        # also uses this index to find running timers.
        Index(
            "uq_time_entries_running_user",
            "user_id",
            unique=True,
            sqlite_where=text("is_running = 1"),
            postgresql_where=text("is_running"),
        ),
        Index("ix_time_entries_account_user_date", "account_id", "user_id", "spent_date", "id"),
        Index(
            "ix_time_entries_account_project_date", "account_id", "project_id", "spent_date", "id"
        ),
        Index("ix_time_entries_account_date", "account_id", "spent_date", "id"),
        # Covers what reports sum over a date range (reports/sql.py), so they never read rows.
        Index("ix_time_entries_figures", "account_id", "spent_date", *FIGURES_INDEXED),
        Index("ix_time_entries_account_updated", "account_id", "updated_at"),
        Index("ix_time_entries_external_ref", "account_id", "external_ref_type", "external_ref_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("projects.id"))
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id"), index=True)
    spent_date: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0)
    is_running: Mapped[bool] = mapped_column(Boolean, default=False)
    timer_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    # What to bill when less than the duration (AlgaPSA's billable_minutes); None bills it all.
    billable_seconds: Mapped[int | None] = mapped_column(Integer)
    billable_rate: Mapped[Decimal | None] = mapped_column(Fixed(AMOUNT_SCALE))
    cost_rate: Mapped[Decimal | None] = mapped_column(Fixed(AMOUNT_SCALE))
    source: Mapped[str] = mapped_column(String(8), default="api")
    # How a timer was started, in Temporal.ist's words (schemas.StartedVia); None when the
    # client did not say.
    started_via: Mapped[str | None] = mapped_column(String(16))
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    external_ref_type: Mapped[str | None] = mapped_column(String(64))
    external_ref_id: Mapped[str | None] = mapped_column(String(255))
    # The billed figures of the finished time (duration_seconds), stored on every write by
    # reports/derived.py so reports sum columns: as tracking/views.py computes them.
    currency: Mapped[str] = mapped_column(String(3), default="")
    rounded_seconds: Mapped[int] = mapped_column(Integer, default=0)
    billable_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # 0 when not billed
    cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # 0 without a cost rate

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    project: Mapped[Project] = relationship(lazy="joined", innerjoin=True)
    task: Mapped[Task] = relationship(lazy="joined", innerjoin=True)


class TimeEntryTemplate(AccountScoped, Base):
    """A saved preset that a new entry can be made from."""

    __tablename__ = "time_entry_templates"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)
    hours: Mapped[Decimal | None] = mapped_column(Fixed(AMOUNT_SCALE))
    billable: Mapped[bool | None] = mapped_column(Boolean)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)

    project: Mapped[Project] = relationship(lazy="joined", innerjoin=True)
    task: Mapped[Task] = relationship(lazy="joined", innerjoin=True)
