from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timeledger.server.accounts.models import User
from timeledger.server.catalog.models import Project
from timeledger.server.core.models import AccountScoped
from timeledger.server.core.money import AMOUNT_SCALE, UNIT_PRICE_SCALE
from timeledger.server.core.types import Fixed, JSONType
from timeledger.server.db import Base
from timeledger.server.tracking.models import Approvable


class ExpenseCategory(AccountScoped, Base):
    """What an expense is for. A category with a unit price (mileage, GPU-hours, LLM tokens)
    prices expenses by whole units; the price may be sub-cent and is exact."""

    __tablename__ = "expense_categories"

    name: Mapped[str] = mapped_column(String(255))
    unit_name: Mapped[str | None] = mapped_column(String(64))
    unit_price: Mapped[Decimal | None] = mapped_column(Fixed(UNIT_PRICE_SCALE))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Expense(Approvable, AccountScoped, Base):
    """Money spent on a project. `total_cost` is stored rounded to the currency's minor unit;
    for a unit-priced category it is units x the unit price snapshotted at the time."""

    __tablename__ = "expenses"
    __table_args__ = (
        Index("ix_expenses_account_date", "account_id", "spent_date", "id"),
        Index("ix_expenses_account_user_date", "account_id", "user_id", "spent_date", "id"),
        Index("ix_expenses_account_project_date", "account_id", "project_id", "spent_date", "id"),
        Index("ix_expenses_account_updated", "account_id", "updated_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("projects.id"))
    expense_category_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("expense_categories.id"), index=True
    )
    spent_date: Mapped[date] = mapped_column(Date)
    units: Mapped[int | None] = mapped_column(BigInteger)
    unit_price: Mapped[Decimal | None] = mapped_column(Fixed(UNIT_PRICE_SCALE))
    total_cost: Mapped[Decimal] = mapped_column(Fixed(AMOUNT_SCALE))
    notes: Mapped[str | None] = mapped_column(Text)
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(8), default="api")
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    # The receipt's bytes live in the receipt store under `receipt_key`.
    receipt_key: Mapped[str | None] = mapped_column(String(128))
    receipt_file_name: Mapped[str | None] = mapped_column(String(255))
    receipt_content_type: Mapped[str | None] = mapped_column(String(64))
    receipt_size: Mapped[int | None] = mapped_column(Integer)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    project: Mapped[Project] = relationship(lazy="joined", innerjoin=True)
    category: Mapped[ExpenseCategory] = relationship(lazy="joined", innerjoin=True)
