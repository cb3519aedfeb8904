"""An invoice as a document: the plain data a PDF or an email is made from, with no database
behind it (billing.service.document_for builds it from an Invoice row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Party:
    name: str
    address: str | None = None  # multi-line text
    email: str | None = None


@dataclass(frozen=True)
class DocumentLine:
    kind: str  # "Service", "Product", "Expense", "Outcome", ...
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # already rounded to the currency's minor unit
    taxed: bool
    taxed2: bool


@dataclass(frozen=True)
class InvoiceDocument:
    number: str
    state: str  # draft | open | paid | closed
    issue_date: date
    due_date: date | None
    currency: str  # ISO 4217
    sender: Party  # the account
    recipient: Party  # the client
    subject: str | None
    notes: str | None
    purchase_order: str | None
    period_start: date | None
    period_end: date | None
    lines: tuple[DocumentLine, ...]
    subtotal: Decimal
    discount: Decimal | None  # percent
    discount_amount: Decimal
    tax: Decimal | None  # percent
    tax_amount: Decimal
    tax2: Decimal | None
    tax2_amount: Decimal
    amount: Decimal  # total
    paid_amount: Decimal
    due_amount: Decimal
