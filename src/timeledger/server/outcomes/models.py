from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timeledger.server.core.models import AccountScoped
from timeledger.server.core.money import AMOUNT_SCALE, UNIT_PRICE_SCALE
from timeledger.server.core.types import Fixed, JSONType
from timeledger.server.db import Base
from timeledger.server.tracking.models import TimeEntry


class Outcome(AccountScoped, Base):
    """A result an agent (or a person) delivered, billed per unit rather than per hour.

    It is the projection of a time entry of 0 hours whose metadata carries `outcome_type`
    (the form the Keito SDK's outcomes.log() sends): it shares the entry's id, is rewritten
    on every write of the entry and goes with it. Who, where and when are copied from the
    entry so reports can read outcomes through their own indexes."""

    __tablename__ = "outcomes"
    __table_args__ = (
        # Covers what reports sum over people and dates (reports/sql.py), so they read no row.
        Index(
            "ix_outcomes_figures",
            "account_id",
            "spent_date",
            "user_id",
            "currency",
            "success",
            "amount",
        ),
        Index("ix_outcomes_account_user_date", "account_id", "user_id", "spent_date"),
        Index("ix_outcomes_account_type", "account_id", "type"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("time_entries.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("projects.id"), index=True)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id"), index=True)
    spent_date: Mapped[date] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[Decimal | None] = mapped_column(Fixed(UNIT_PRICE_SCALE))
    quantity: Mapped[int] = mapped_column(BigInteger)
    success: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # unit_price x quantity, half-up to the currency's minor unit; revenue when success.
    amount: Mapped[Decimal] = mapped_column(Fixed(AMOUNT_SCALE))
    # The entry's (TimeEntry.currency), copied like who and when, and again by
    # reports/derived.py recompute when a currency the entry resolves to changes. Internal:
    # reports read it; events say the amount's currency through the entry.
    currency: Mapped[str] = mapped_column(String(3), default="", info={"internal": True})

    entry: Mapped[TimeEntry] = relationship(lazy="joined", innerjoin=True)

    @property
    def revenue(self) -> Decimal:
        return self.amount if self.success else Decimal(0)
