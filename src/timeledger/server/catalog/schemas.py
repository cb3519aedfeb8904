"""Commands of the catalogue: clients, contacts, projects, tasks and assignments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from timeledger.server.core.fields import (
    Command,
    Currency,
    Email,
    LongText,
    Money,
    Name,
    Percent,
    Phone,
    ShortText,
    omitted,
)

PaymentTerms = Literal["upon_receipt", "net_15", "net_30", "net_45", "net_60", "custom"]
BillBy = Literal["Project", "Tasks", "People", "none"]
BudgetBy = Literal["project", "project_cost", "task", "task_fees", "person", "none"]
# As long as their columns (clients.address, projects.code): PostgreSQL refuses longer values.
Address = Annotated[str, StringConstraints(max_length=1000)]
ProjectCode = Annotated[str, StringConstraints(max_length=64)]


class ClientCreate(Command):
    name: Name
    company: ShortText | None = None
    email: Email | None = None
    address: Address | None = None
    currency: Currency | None = None
    payment_terms: PaymentTerms | None = None
    payment_days: int | None = Field(default=None, ge=0, le=3650)
    tax: Percent | None = None
    tax2: Percent | None = None
    discount: Percent | None = None
    hourly_rate: Money | None = None
    is_active: bool = True


class ClientUpdate(Command):
    name: Name = omitted()
    company: ShortText | None = None
    email: Email | None = None
    address: Address | None = None
    currency: Currency | None = None
    payment_terms: PaymentTerms | None = None
    payment_days: int | None = Field(default=None, ge=0, le=3650)
    tax: Percent | None = None
    tax2: Percent | None = None
    discount: Percent | None = None
    hourly_rate: Money | None = None
    is_active: bool = omitted()


class ContactCreate(Command):
    client_id: str
    first_name: Name
    last_name: ShortText | None = None
    title: ShortText | None = None
    email: Email | None = None
    phone_office: Phone | None = None
    phone_mobile: Phone | None = None
    fax: Phone | None = None


class ContactUpdate(Command):
    client_id: str = omitted()
    first_name: Name = omitted()
    last_name: ShortText | None = None
    title: ShortText | None = None
    email: Email | None = None
    phone_office: Phone | None = None
    phone_mobile: Phone | None = None
    fax: Phone | None = None


class _ProjectFields(Command):
    client_id: str | None = None
    code: ProjectCode | None = None
    fee: Money | None = None
    hourly_rate: Money | None = None
    budget: Money | None = None
    over_budget_notification_percentage: Percent | None = None
    cost_budget: Money | None = None
    currency: Currency | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    notes: LongText | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class ProjectCreate(_ProjectFields):
    name: Name
    is_active: bool = True
    auto_track: bool = False
    is_billable: bool = True
    is_fixed_fee: bool = False
    bill_by: BillBy = "none"
    budget_by: BudgetBy = "none"
    budget_is_monthly: bool = False
    notify_when_over_budget: bool = False
    show_budget_to_all: bool = False
    cost_budget_include_expenses: bool = False

    @model_validator(mode="after")
    def _fee_for_fixed_fee(self) -> Self:
        if self.is_fixed_fee and self.fee is None:
            raise ValueError("fee is required when is_fixed_fee is true")
        return self


class ProjectUpdate(_ProjectFields):
    name: Name = omitted()
    is_active: bool = omitted()
    auto_track: bool = omitted()
    is_billable: bool = omitted()
    is_fixed_fee: bool = omitted()
    bill_by: BillBy = omitted()
    budget_by: BudgetBy = omitted()
    budget_is_monthly: bool = omitted()
    notify_when_over_budget: bool = omitted()
    show_budget_to_all: bool = omitted()
    cost_budget_include_expenses: bool = omitted()


class TaskCreate(Command):
    name: Name
    billable_by_default: bool = True
    default_hourly_rate: Money | None = None
    is_default: bool = False
    is_active: bool = True


class TaskUpdate(Command):
    name: Name = omitted()
    billable_by_default: bool = omitted()
    default_hourly_rate: Money | None = None
    is_default: bool = omitted()
    is_active: bool = omitted()


class TaskAssignmentCreate(Command):
    task_id: str
    is_active: bool = True
    billable: bool | None = None  # None: the task's billable_by_default
    hourly_rate: Money | None = None
    budget: Money | None = None


class TaskAssignmentUpdate(Command):
    is_active: bool = omitted()
    billable: bool = omitted()
    hourly_rate: Money | None = None
    budget: Money | None = None


class UserAssignmentCreate(Command):
    user_id: str
    is_active: bool = True
    is_project_manager: bool = False
    use_default_rates: bool = True
    hourly_rate: Money | None = None
    budget: Money | None = None


class UserAssignmentUpdate(Command):
    is_active: bool = omitted()
    is_project_manager: bool = omitted()
    use_default_rates: bool = omitted()
    hourly_rate: Money | None = None
    budget: Money | None = None
