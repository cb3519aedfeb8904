from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timeledger.server.accounts.models import User
from timeledger.server.core.models import AccountScoped
from timeledger.server.core.money import AMOUNT_SCALE
from timeledger.server.core.types import Fixed
from timeledger.server.db import Base


def _money() -> Mapped[Decimal | None]:
    return mapped_column(Fixed(AMOUNT_SCALE))


class Client(AccountScoped, Base):
    __tablename__ = "clients"

    name: Mapped[str] = mapped_column(String(255))
    company: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))  # where invoices go
    address: Mapped[str | None] = mapped_column(String(1000))
    currency: Mapped[str | None] = mapped_column(String(3))
    payment_terms: Mapped[str | None] = mapped_column(String(16))
    payment_days: Mapped[int | None] = mapped_column(Integer)
    tax: Mapped[Decimal | None] = _money()
    tax2: Mapped[Decimal | None] = _money()
    discount: Mapped[Decimal | None] = _money()
    # The rate of its projects billed by project that set none of their own.
    hourly_rate: Mapped[Decimal | None] = _money()
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Contact(AccountScoped, Base):
    __tablename__ = "contacts"

    client_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    client: Mapped[Client] = relationship(lazy="joined", innerjoin=True)
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    phone_office: Mapped[str | None] = mapped_column(String(64))
    phone_mobile: Mapped[str | None] = mapped_column(String(64))
    fax: Mapped[str | None] = mapped_column(String(64))


class Project(AccountScoped, Base):
    __tablename__ = "projects"

    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id"), index=True)
    client: Mapped[Client | None] = relationship(lazy="joined")
    name: Mapped[str] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether watchers (file, browser, CLI) start sessions for it on their own: Temporal.ist's
    # "is_active". Unrelated to archiving (is_active), which stops all new time.
    auto_track: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_billable: Mapped[bool] = mapped_column(Boolean, default=True)
    is_fixed_fee: Mapped[bool] = mapped_column(Boolean, default=False)
    fee: Mapped[Decimal | None] = _money()
    bill_by: Mapped[str] = mapped_column(String(8), default="none")
    hourly_rate: Mapped[Decimal | None] = _money()
    budget_by: Mapped[str] = mapped_column(String(16), default="none")
    budget: Mapped[Decimal | None] = _money()
    budget_is_monthly: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_when_over_budget: Mapped[bool] = mapped_column(Boolean, default=False)
    over_budget_notification_percentage: Mapped[Decimal | None] = _money()
    show_budget_to_all: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_budget: Mapped[Decimal | None] = _money()
    cost_budget_include_expenses: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str | None] = mapped_column(String(3))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class Task(AccountScoped, Base):
    __tablename__ = "tasks"

    name: Mapped[str] = mapped_column(String(255))
    billable_by_default: Mapped[bool] = mapped_column(Boolean, default=True)
    default_hourly_rate: Mapped[Decimal | None] = _money()
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class TaskAssignment(AccountScoped, Base):
    __tablename__ = "task_assignments"
    __table_args__ = (UniqueConstraint("project_id", "task_id", name="uq_task_assignments"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    project: Mapped[Project] = relationship(lazy="joined", innerjoin=True)
    task: Mapped[Task] = relationship(lazy="joined", innerjoin=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    hourly_rate: Mapped[Decimal | None] = _money()
    budget: Mapped[Decimal | None] = _money()


class UserAssignment(AccountScoped, Base):
    __tablename__ = "user_assignments"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_user_assignments"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    project: Mapped[Project] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_project_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    use_default_rates: Mapped[bool] = mapped_column(Boolean, default=True)
    hourly_rate: Mapped[Decimal | None] = _money()
    budget: Mapped[Decimal | None] = _money()
