"""An invoice as a document: the plain data a PDF or an email is made from, with no database
behind it (billing.service.document_for builds it from an Invoice row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from timeledger.server.core.money import minor_units, round_money


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


# --- how values are written on an invoice (the PDF, the email) -------------------------------


def money(amount: Decimal, currency: str) -> str:
    """1234.5 USD -> "1,234.50" (grouped, at the currency's minor unit)."""
    return f"{round_money(amount, currency):,.{minor_units(currency)}f}"


def unit_price(price: Decimal, currency: str) -> str:
    """At least the currency's minor unit, more for sub-cent prices (0.00000015 per token)."""
    exponent = price.normalize().as_tuple().exponent
    places = max(minor_units(currency), -exponent if isinstance(exponent, int) else 0)
    return f"{price:,.{places}f}"


def quantity(value: Decimal) -> str:
    """1.5000 -> "1.5", 2 -> "2", 1000 -> "1,000"."""
    exponent = value.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{value:,.{places}f}"


def percent(value: Decimal) -> str:
    return f"{quantity(value)}%"


def day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"
