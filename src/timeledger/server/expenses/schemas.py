"""Commands of expenses and expense categories."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from timeledger.server.core.fields import Command, LongText, Money, Name, omitted, trimmed
from timeledger.server.core.money import MAX_UNIT_PRICE, UNIT_PRICE_SCALE
from timeledger.server.tracking.schemas import (
    ApprovalStatus,
    Metadata,
    MetadataPatch,
    Source,
    SpentDate,
)

MAX_UNITS = 1_000_000_000_000  # a trillion tokens

UnitPrice = Annotated[Decimal, Field(ge=0, le=MAX_UNIT_PRICE, decimal_places=UNIT_PRICE_SCALE)]
UnitName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(trimmed)]
Units = Annotated[int, Field(ge=0, le=MAX_UNITS, strict=False)]


class CategoryCreate(Command):
    name: Name
    unit_name: UnitName | None = None
    unit_price: UnitPrice | None = None
    is_active: bool = True


class CategoryUpdate(Command):
    name: Name = omitted()
    unit_name: UnitName | None = None
    unit_price: UnitPrice | None = None
    is_active: bool = omitted()


class ExpenseCreate(Command):
    project_id: str
    expense_category_id: str
    spent_date: SpentDate
    user_id: str | None = None
    total_cost: Money | None = None
    units: Units | None = None
    notes: LongText | None = None
    billable: bool | None = None
    source: Source = "api"
    metadata: Metadata | None = None


class ExpenseUpdate(Command):
    project_id: str = omitted()
    expense_category_id: str = omitted()
    spent_date: SpentDate = omitted()
    user_id: str = omitted()
    total_cost: Money = omitted()
    units: Units = omitted()
    notes: LongText | None = None
    billable: bool = omitted()
    metadata: MetadataPatch | None = None
    # Immutable after creation; accepted here only to answer a clear 400 naming it.
    source: str | None = None


class ExpenseFilters(Command):
    """List filters; every one optional."""

    user_id: str | None = None
    project_id: str | None = None
    client_id: str | None = None
    expense_category_id: str | None = None
    source: Source | None = None
    from_: date | None = None
    to: date | None = None
    is_billed: bool | None = None
    approval_status: ApprovalStatus | None = None
    updated_since: Any = None
