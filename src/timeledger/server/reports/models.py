from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from timeledger.server.core.models import AccountScoped
from timeledger.server.core.money import AMOUNT_SCALE
from timeledger.server.core.types import Fixed
from timeledger.server.db import Base


class BudgetAlert(AccountScoped, Base):
    """A project's spending is past its notification threshold in `period` ("total", or a
    month "YYYY-MM" for monthly budgets). The row exists while it stays past, so the
    crossing is announced once; falling back below removes it, re-arming the alert."""

    __tablename__ = "project_budget_alerts"
    __table_args__ = (
        UniqueConstraint("project_id", "period", name="uq_project_budget_alerts_period"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE")
    )
    period: Mapped[str] = mapped_column(String(7))
    percent_used: Mapped[Decimal] = mapped_column(Fixed(AMOUNT_SCALE))


class ProjectSpending(Base):
    """What a project spent in a month (`month`: its first day), by the figures budgets count:
    rounded hours (ten-thousandths) and billable amounts (minor units) of finished time,
    revenue of successful outcomes and billable expenses (AMOUNT_SCALE integers). Kept in step
    with every write by reports/derived.py, so a budget check reads a few rows."""

    __tablename__ = "project_spending"

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    hours: Mapped[int] = mapped_column(BigInteger, default=0)
    billable_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    outcome_revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    expense_billable: Mapped[int] = mapped_column(BigInteger, default=0)


class UserDayTime(Base):
    """A user's finished time on one day in one currency, summed as the reports sum entries
    (reports/sql.py Cube): entries, raw and rounded hours (ten-thousandths, each entry's
    rounded half-up first), billable hours, billable and cost amounts (minor units). Kept in
    step with every write by reports/derived.py, so reports over people and days read one
    row per user, day and currency instead of one per entry (a year of team time: about
    150,000 rows instead of 275,000 in the benchmark's ledger, whose projects use five
    currencies). Keyed account first and clustered by day (SQLite: no rowid), so a date
    range is one stretch of the table."""

    __tablename__ = "user_day_time"
    MEASURES = ("entries", "raw_hours", "hours", "billable_hours", "billable_minor", "cost_minor")
    __table_args__ = ({"sqlite_with_rowid": False},)

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    spent_date: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    raw_hours: Mapped[int] = mapped_column(BigInteger, default=0)
    hours: Mapped[int] = mapped_column(BigInteger, default=0)
    billable_hours: Mapped[int] = mapped_column(BigInteger, default=0)
    billable_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
