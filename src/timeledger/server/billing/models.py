"""Invoices, their line items, payments and messages, and each account's number counter.

Amounts are stored computed (billing/totals.py) whenever the lines or rates change, so lists
and filters read them without summing lines."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timeledger.server.accounts.models import User
from timeledger.server.catalog.models import Client
from timeledger.server.core.models import AccountScoped
from timeledger.server.core.money import AMOUNT_SCALE, UNIT_PRICE_SCALE
from timeledger.server.core.types import Fixed, JSONType, UTCDateTime
from timeledger.server.db import Base

STATES = ("draft", "open", "paid", "closed")
PAYMENT_TERMS = ("upon_receipt", "net_15", "net_30", "net_45", "net_60", "custom")


def _amount() -> Mapped[Decimal]:
    return mapped_column(Fixed(AMOUNT_SCALE), default=Decimal(0))


def _percent() -> Mapped[Decimal | None]:
    return mapped_column(Fixed(AMOUNT_SCALE))


class InvoiceCounter(Base):
    """The last invoice number an account issued. Incremented inside the creating transaction
    (a row lock on PostgreSQL, the single writer on SQLite), so numbers are unique and a
    rolled-back creation gives its number back: no gaps."""

    __tablename__ = "invoice_counters"

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Invoice(AccountScoped, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("account_id", "number", name="uq_invoices_account_number"),
        Index("ix_invoices_account_client", "account_id", "client_id", "id"),
        Index("ix_invoices_account_issue_date", "account_id", "issue_date", "id"),
        Index("ix_invoices_account_updated", "account_id", "updated_at"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8), default="draft")
    subject: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    purchase_order: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    payment_term: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    tax: Mapped[Decimal | None] = _percent()
    tax2: Mapped[Decimal | None] = _percent()
    discount: Mapped[Decimal | None] = _percent()
    subtotal: Mapped[Decimal] = _amount()
    discount_amount: Mapped[Decimal] = _amount()
    tax_amount: Mapped[Decimal] = _amount()
    tax2_amount: Mapped[Decimal] = _amount()
    amount: Mapped[Decimal] = _amount()
    paid_amount: Mapped[Decimal] = _amount()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_date: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Closed unpaid: the tracked work it billed was released, so it cannot be re-opened.
    is_void: Mapped[bool] = mapped_column(Boolean, default=False)

    client: Mapped[Client] = relationship(lazy="joined", innerjoin=True)
    creator: Mapped[User | None] = relationship(lazy="joined")
    line_items: Mapped[list[InvoiceLineItem]] = relationship(
        order_by="InvoiceLineItem.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    @property
    def due_amount(self) -> Decimal:
        return self.amount - self.paid_amount


class InvoiceLineItem(AccountScoped, Base):
    __tablename__ = "invoice_line_items"

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(Fixed(AMOUNT_SCALE))
    unit_price: Mapped[Decimal] = mapped_column(Fixed(UNIT_PRICE_SCALE))
    amount: Mapped[Decimal] = mapped_column(Fixed(AMOUNT_SCALE))
    taxed: Mapped[bool] = mapped_column(Boolean, default=False)
    taxed2: Mapped[bool] = mapped_column(Boolean, default=False)
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("projects.id"), index=True
    )


class InvoicePayment(AccountScoped, Base):
    __tablename__ = "invoice_payments"

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Fixed(AMOUNT_SCALE))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_date: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    recorded_by: Mapped[User | None] = relationship(lazy="joined")


class InvoiceMessage(AccountScoped, Base):
    """A message about an invoice (sent to recipients, or only recording a state move)."""

    __tablename__ = "invoice_messages"

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    sent_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
    attach_pdf: Mapped[bool] = mapped_column(Boolean, default=False)
    send_me_a_copy: Mapped[bool] = mapped_column(Boolean, default=False)
    include_attachments: Mapped[bool] = mapped_column(Boolean, default=False)
    event_type: Mapped[str | None] = mapped_column(String(16))

    sent_by: Mapped[User | None] = relationship(lazy="joined")
