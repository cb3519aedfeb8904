from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    Uuid,
    and_,
    case,
    exists,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import (
    Mapped,
    aliased,
    declared_attr,
    foreign,
    mapped_column,
    relationship,
)

from timeledger.server.accounts.models import User
from timeledger.server.billing.models import Invoice
from timeledger.server.catalog.models import Project, Task
from timeledger.server.core.models import AccountScoped
from timeledger.server.core.money import AMOUNT_SCALE
from timeledger.server.core.types import Fixed, JSONType, UTCDateTime
from timeledger.server.db import Base

T = TypeVar("T")


class BillingMark(Base):
    """That a time entry or an expense is billed, and on which invoice.

    A narrow row of its own rather than columns of the entry: billing 100,000 entries then
    writes 100,000 small rows instead of rewriting the entries and each of their indexes
    (claiming 100,000 entries in the server: 0.4 s against 2.5 s on SQLite, 0.5 s against
    3 s on PostgreSQL). Billing inserts the mark, or takes over a released one; releasing
    (a deleted draft, a void) stamps the mark released_at rather than each row updated_at,
    so that syncing clients still see the change (that stamp took 4-5 s per 100,000 entries
    on PostgreSQL). The primary key is what makes a row billed at most once. There are no
    foreign keys because PostgreSQL checks them row by row (another 0.3 s per 100,000
    marks): marks are written only by the billing service, in the transaction that changes
    their invoice, and a billed row is locked, so it cannot be deleted while billed. (A
    released mark may outlive its deleted row: nothing joins from a mark to its row.)"""

    __tablename__ = "billing_marks"
    __table_args__ = (
        # Finds what was released since a moment (Approvable.changed_since); billed marks,
        # the bulk, are left out, so billing writes nothing to it.
        Index(
            "ix_billing_marks_released",
            "account_id",
            "released_at",
            sqlite_where=text("released_at IS NOT NULL"),
            postgresql_where=text("released_at IS NOT NULL"),
        ),
        {"sqlite_with_rowid": False},
    )

    item_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # its invoice's, and its row's
    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    # Its invoice's created_at: "billed since" is found through the invoices' index.
    billed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None while billed

    @hybrid_property
    def bills(self) -> bool:
        """Whether the mark still bills its row: it was not released."""
        return self.released_at is None

    @bills.inplace.expression
    @classmethod
    def _bills_expression(cls) -> ColumnElement[bool]:
        return cls.released_at.is_(None)

    @classmethod
    def items_of(cls, invoice_id: uuid.UUID) -> Select[Any]:
        """The ids of the rows an invoice bills."""
        return select(cls.item_id).where(cls.invoice_id == invoice_id, cls.bills)


class Approvable(AccountScoped):
    """Approval state of a ledger row (time entries and expenses alike): unsubmitted ->
    submitted -> approved, or rejected with a reason; approved or billed rows are locked."""

    approval_status: Mapped[str] = mapped_column(String(12), default="unsubmitted")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @declared_attr
    def approved_by_id(cls) -> Mapped[uuid.UUID | None]:  # noqa: N805 (the class)
        return mapped_column(Uuid, ForeignKey("users.id"))

    @declared_attr
    def billing(cls) -> Mapped[BillingMark | None]:  # noqa: N805 (the class)
        """The row's billing mark, loaded with it; None if never billed."""
        return relationship(
            BillingMark,
            primaryjoin=lambda: foreign(BillingMark.item_id) == cls.id,
            lazy="joined",
            viewonly=True,
        )

    @hybrid_property
    def is_billed(self) -> bool:
        return self.billing is not None and self.billing.bills

    @is_billed.inplace.expression
    @classmethod
    def _is_billed_expression(cls) -> ColumnElement[bool]:
        return exists().where(BillingMark.item_id == cls.id, BillingMark.bills)

    def billing_state(self) -> dict[str, Any]:
        """is_billed and invoice_id, as the row's events carry them."""
        invoice_id = str(self.billing.invoice_id) if self.billing and self.is_billed else None
        return {"is_billed": self.is_billed, "invoice_id": invoice_id}

    @property
    def changed_at(self) -> datetime:
        """When the row last changed, billing and releasing included: what the wire calls
        updated_at (BillingJoin says the same in SQL)."""
        mark = self.billing
        if mark is None:
            return self.updated_at
        return max(self.updated_at, mark.billed_at, mark.released_at or mark.billed_at)

    @classmethod
    def changed_since(cls, account_id: uuid.UUID, moment: datetime) -> ColumnElement[bool]:
        """Rows that changed at or after `moment`, billing and releasing included (as
        changed_at): one set of ids from three index ranges, so a sync that asks for the
        last few minutes reads the last few minutes (an OR of the three would scan the
        account). Billed marks are found through their invoices (an invoice's updated_at is
        never before its created_at, the marks' billed_at), which saves indexing every
        mark; released ones by their own partial index."""
        rows = aliased(cls)  # not the row being filtered: an independent set of ids
        edited = select(rows.id).where(rows.account_id == account_id, rows.updated_at >= moment)
        invoices = select(Invoice.id).where(
            Invoice.account_id == account_id, Invoice.updated_at >= moment
        )
        billed = select(BillingMark.item_id).where(
            BillingMark.invoice_id.in_(invoices), BillingMark.billed_at >= moment
        )
        released = select(BillingMark.item_id).where(
            BillingMark.account_id == account_id, BillingMark.released_at >= moment
        )
        return cls.id.in_(union_all(edited, billed, released))


class BillingJoin:
    """Approvable.is_billed and .changed_at as columns of a query over many rows at once
    (exports): the query outer-joins `mark` on `joined`."""

    def __init__(self, model: type[Approvable]) -> None:
        self.model = model
        self.mark = mark = aliased(BillingMark)
        self.joined = mark.item_id == model.id
        self.is_billed = and_(mark.item_id.is_not(None), mark.bills)

    def changed_at(self, render: Callable[[Any], ColumnElement[T]]) -> ColumnElement[T]:
        """render(changed_at): the latest of the row's update, billing and release, with
        `render` applied to the chosen column itself, so a render that repeats its argument
        many times (export text of local times) repeats a column, not this choice."""
        mark, updated = self.mark, self.model.updated_at
        billed_later = mark.billed_at > updated
        released_last = case(
            (billed_later, mark.released_at > mark.billed_at),
            else_=mark.released_at > updated,
        )
        return case(
            (released_last, render(mark.released_at)),
            (billed_later, render(mark.billed_at)),
            else_=render(updated),
        )


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
        # The running timers of a project: every write's budget check (reports/budget.py)
        # and the live part of reports look for them. Through the project index that read
        # every entry of the project: 146 ms per write to one of 99,000 entries.
        Index(
            "ix_time_entries_running_project",
            "account_id",
            "project_id",
            "spent_date",
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
