"""Invoices, their messages (sending) and payments, and their PDF.

Written against the documented wire shape (Keito's Invoice, LineItem and InvoiceMessage);
the PDF is GET /invoices/{id}/pdf and payments are /invoices/{id}/payments (Harvest's
"invoice_payments")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Required, TypedDict, Unpack

from timeledger.client._http import Call
from timeledger.client.models import Deleted, Invoice, InvoiceMessage, InvoicePayment
from timeledger.client.pagination import Listing
from timeledger.client.resources._base import (
    IO,
    Collection,
    Resource,
    download,
    fetch,
    listing,
    operation,
)

Money = Decimal | int | str
Day = date | str
PaymentTerm = Literal["upon_receipt", "net_15", "net_30", "net_45", "net_60", "custom"]
State = Literal["draft", "open", "paid", "closed"]


class LineItemFields(TypedDict, total=False):
    kind: str  # "Service", "Product", ...
    description: str
    quantity: Money
    unit_price: Money
    taxed: bool
    taxed2: bool
    project_id: str


class _InvoiceFields(TypedDict, total=False):
    subject: str | None
    issue_date: Day | None
    due_date: Day | None
    purchase_order: str | None
    tax: Money | None
    tax2: Money | None
    discount: Money | None
    notes: str | None
    period_start: Day | None
    period_end: Day | None


class InvoiceCreate(_InvoiceFields, total=False):
    """Explicit `line_items`; or, without them, the client's unbilled tracked work from
    period_start to period_end (then also project_ids, tax_rate, overlap_strategy,
    group_by, include_expenses, include_outcomes)."""

    client_id: Required[str]
    payment_term: PaymentTerm
    currency: str
    line_items: Sequence[LineItemFields]
    project_ids: Sequence[str]
    tax_rate: Money
    overlap_strategy: Literal["add", "merge"]
    group_by: Literal["project", "task", "person", "detailed"]
    include_expenses: bool
    include_outcomes: bool


class Recipient(TypedDict):
    name: str
    email: str


class Messages(Resource[IO]):
    @listing
    def list(self, invoice_id: str, *, per_page: int | None = None) -> Listing[InvoiceMessage]:
        path = f"/invoices/{invoice_id}/messages"
        return Listing(path, "invoice_messages", InvoiceMessage.from_wire, {"per_page": per_page})

    @operation
    def send(
        self,
        invoice_id: str,
        *,
        recipients: Sequence[Recipient],
        subject: str | None = None,
        body: str | None = None,
        attach_pdf: bool = True,
        send_me_a_copy: bool = False,
        include_attachments: bool = False,
        event_type: str = "send",
    ) -> Call[InvoiceMessage]:
        """Send the invoice to `recipients`; a draft becomes open."""
        message = {
            "recipients": list(recipients),
            "subject": subject,
            "body": body,
            "attach_pdf": attach_pdf,
            "send_me_a_copy": send_me_a_copy,
            "include_attachments": include_attachments,
            "event_type": event_type,
        }
        message = {key: value for key, value in message.items() if value is not None}
        path = f"/invoices/{invoice_id}/messages"
        return (yield from fetch(InvoiceMessage, "POST", path, json=message))


class Payments(Resource[IO]):
    @listing
    def list(self, invoice_id: str, *, per_page: int | None = None) -> Listing[InvoicePayment]:
        path = f"/invoices/{invoice_id}/payments"
        return Listing(path, "invoice_payments", InvoicePayment.from_wire, {"per_page": per_page})

    @operation
    def create(
        self,
        invoice_id: str,
        *,
        amount: Money,
        paid_date: Day | None = None,
        notes: str | None = None,
    ) -> Call[InvoicePayment]:
        """Record a payment; a fully paid invoice becomes paid."""
        payment = {"amount": amount, "paid_date": paid_date, "notes": notes}
        payment = {key: value for key, value in payment.items() if value is not None}
        path = f"/invoices/{invoice_id}/payments"
        return (yield from fetch(InvoicePayment, "POST", path, json=payment))

    @operation
    def delete(self, invoice_id: str, id: str) -> Call[Deleted]:
        return (yield from fetch(Deleted, "DELETE", f"/invoices/{invoice_id}/payments/{id}"))


class Invoices(Collection[IO, Invoice]):
    path, key, model = "/invoices", "invoices", Invoice

    def __init__(self, io: IO) -> None:
        super().__init__(io)
        self.messages = Messages(io)
        self.payments = Payments(io)

    @listing
    def list(
        self,
        *,
        client_id: str | None = None,
        state: State | None = None,
        from_date: Day | None = None,
        to_date: Day | None = None,
        updated_since: datetime | None = None,
        per_page: int | None = None,
    ) -> Listing[Invoice]:
        return self._listing(
            client_id=client_id,
            state=state,
            updated_since=updated_since,
            per_page=per_page,
            **{"from": from_date, "to": to_date},
        )

    @operation
    def create(self, **fields: Unpack[InvoiceCreate]) -> Call[Invoice]:
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[_InvoiceFields]) -> Call[Invoice]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[Deleted]:
        """Delete a draft invoice."""
        return (yield from self._delete(id))

    @operation
    def pdf(self, id: str) -> Call[bytes]:
        """The invoice as a PDF document."""
        return (yield from download(f"/invoices/{id}/pdf", {}))
