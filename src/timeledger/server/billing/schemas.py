"""Commands of invoicing: invoices from explicit line items or from tracked work, updates,
payments and list filters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from timeledger.server.core.fields import (
    AwareDatetime,
    Command,
    Currency,
    LongText,
    Money,
    Percent,
    ShortText,
    omitted,
)
from timeledger.server.core.money import AMOUNT_SCALE
from timeledger.server.expenses.schemas import UnitPrice
from timeledger.server.tracking.schemas import SpentDate

PaymentTerm = Literal["upon_receipt", "net_15", "net_30", "net_45", "net_60", "custom"]
State = Literal["draft", "open", "paid", "closed"]
EventType = Literal["send", "close", "re-open", "view", "draft"]
OverlapStrategy = Literal["add", "merge"]
GroupBy = Literal["project", "task", "person", "detailed"]

MAX_QUANTITY = Decimal(100_000_000)
MAX_LINE_ITEMS = 2000
Quantity = Annotated[Decimal, Field(ge=0, le=MAX_QUANTITY, decimal_places=AMOUNT_SCALE)]
Kind = Annotated[str, Field(min_length=1, max_length=64)]
Day = SpentDate  # YYYY-MM-DD only


class LineItemInput(Command):
    """A line as the Keito SDK sends it (kind "Service", quantity 1, unit_price 0 and the
    tax flags false when left out). On update, `id` names an existing line to change and
    `_destroy: true` removes it; a line without `id` is added."""

    id: str | None = None
    kind: Kind = "Service"
    description: LongText | None = None
    quantity: Quantity = Decimal(1)
    unit_price: UnitPrice = Decimal(0)
    taxed: bool = False
    taxed2: bool = False
    project_id: str | None = None
    destroy: bool = Field(default=False, alias="_destroy")


LineItems = Annotated[list[LineItemInput], Field(max_length=MAX_LINE_ITEMS)]


class InvoiceFields(Command):
    subject: ShortText | None = None
    notes: LongText | None = None
    purchase_order: ShortText | None = None
    currency: Currency | None = None
    issue_date: Day | None = None
    due_date: Day | None = None
    payment_term: PaymentTerm | None = None
    tax: Percent | None = None
    tax2: Percent | None = None
    discount: Percent | None = None
    period_start: Day | None = None
    period_end: Day | None = None


class InvoiceCreate(InvoiceFields):
    client_id: str
    line_items: LineItems = Field(default_factory=list)


class TrackedWorkInvoice(InvoiceFields):
    """An invoice of a client's unbilled work in a period (billing/tracked.py)."""

    client_id: str
    period_start: Day
    period_end: Day
    project_ids: list[str] | None = Field(default=None, max_length=1000)
    tax_rate: Percent | None = None  # Temporal.ist's name for `tax`
    overlap_strategy: OverlapStrategy = "add"
    group_by: GroupBy = "project"
    include_expenses: bool = False
    include_outcomes: bool = False


class InvoiceUpdate(Command):
    subject: ShortText | None = None
    notes: LongText | None = None
    purchase_order: ShortText | None = None
    currency: Currency = omitted()
    issue_date: Day = omitted()
    due_date: Day = omitted()
    payment_term: PaymentTerm = omitted()
    tax: Percent | None = None
    tax2: Percent | None = None
    discount: Percent | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    line_items: LineItems = omitted()


class InvoiceFilters(Command):
    state: State | None = None
    client_id: str | None = None
    from_: date | None = None  # issue_date >= this
    to: date | None = None  # issue_date <= this
    updated_since: Any = None


class PaymentCreate(Command):
    amount: Annotated[Money, Field(gt=0)]
    paid_at: AwareDatetime | None = None
    paid_date: Day | None = None
    notes: LongText | None = None
