"""/api/v2 invoices and their payments (Keito/Harvest shapes: Invoice, LineItem, and
Harvest's invoice_payments). Messages and the PDF are surfaces/native/invoice_messages.py."""

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request

from timeledger.server.billing import payments, service, tracked
from timeledger.server.billing.models import Invoice, InvoiceLineItem, InvoicePayment
from timeledger.server.billing.schemas import (
    InvoiceCreate,
    InvoiceFilters,
    InvoiceUpdate,
    PaymentCreate,
    TrackedWorkInvoice,
)
from timeledger.server.core.fields import AwareDatetime
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.wire import (
    Deleted,
    Id,
    IdName,
    ListEnvelope,
    Number,
    Timestamps,
    Wire,
    envelope,
    list_model,
)

router = APIRouter()
TAG: list[str | Enum] = ["invoices"]

# Keys only an invoice of tracked work has; with no `line_items`, any of them (or a period)
# makes a create one of tracked work.
_TRACKED_KEYS = frozenset(TrackedWorkInvoice.model_fields) - frozenset(InvoiceCreate.model_fields)


class Creator(Wire):
    id: Id
    name: str | None
    email: str | None


class LineItemOut(Wire):
    id: Id
    kind: str
    description: str
    quantity: Number
    unit_price: Number
    amount: Number
    taxed: bool
    taxed2: bool
    project_id: Id | None


class InvoiceOut(Timestamps):
    id: Id
    client_id: Id
    client: IdName
    created_by_id: Id | None
    creator: Creator | None
    number: str
    purchase_order: str | None
    subject: str | None
    state: Literal["draft", "open", "paid", "closed"]
    amount: Number
    due_amount: Number
    paid_amount: Number
    subtotal: Number
    tax: Number | None
    tax_amount: Number
    tax2: Number | None
    tax2_amount: Number
    discount: Number | None
    discount_amount: Number
    currency: str
    issue_date: date
    due_date: date
    payment_term: Literal["upon_receipt", "net_15", "net_30", "net_45", "net_60", "custom"]
    notes: str | None
    period_start: date | None
    period_end: date | None
    sent_at: datetime | None
    paid_at: datetime | None
    paid_date: date | None
    closed_at: datetime | None
    line_items: list[LineItemOut]

    @classmethod
    def of(cls, invoice: Invoice) -> "InvoiceOut":
        user = invoice.creator
        return cls.model_validate(
            {
                **{name: getattr(invoice, name) for name in _INVOICE_FIELDS},
                "client": IdName(id=invoice.client.id, name=invoice.client.name),
                "creator": None
                if user is None
                else Creator(
                    id=user.id, name=_full_name(user.first_name, user.last_name), email=user.email
                ),
                "line_items": [_line(line) for line in invoice.line_items],
            }
        )


_INVOICE_FIELDS = tuple(
    name for name in InvoiceOut.model_fields if name not in ("client", "creator", "line_items")
)


def _full_name(first: str | None, last: str | None) -> str | None:
    return " ".join(part for part in (first, last) if part) or None


def _line(line: InvoiceLineItem) -> LineItemOut:
    return LineItemOut(
        id=line.id,
        kind=line.kind,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=line.amount,
        taxed=line.taxed,
        taxed2=line.taxed2,
        project_id=line.project_id,
    )


class PaymentOut(Timestamps):
    id: Id
    invoice_id: Id
    amount: Number
    paid_at: datetime
    paid_date: date
    notes: str | None
    recorded_by: str | None
    recorded_by_email: str | None

    @classmethod
    def of(cls, payment: InvoicePayment) -> "PaymentOut":
        user = payment.recorded_by
        return cls(
            id=payment.id,
            invoice_id=payment.invoice_id,
            amount=payment.amount,
            paid_at=payment.paid_at,
            paid_date=payment.paid_date,
            notes=payment.notes,
            recorded_by=None if user is None else _full_name(user.first_name, user.last_name),
            recorded_by_email=None if user is None else user.email,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
        )


InvoiceList = list_model("invoices", InvoiceOut)
PaymentList = list_model("invoice_payments", PaymentOut)


async def _filters(
    state: Literal["draft", "open", "paid", "closed"] | None = None,
    client_id: str | None = None,
    from_: Annotated[date | None, Query(alias="from", description="issue_date >= this")] = None,
    to: Annotated[date | None, Query(description="issue_date <= this")] = None,
    updated_since: AwareDatetime | None = None,
) -> InvoiceFilters:
    return InvoiceFilters(
        state=state, client_id=client_id, from_=from_, to=to, updated_since=updated_since
    )


Filters = Annotated[InvoiceFilters, Depends(_filters)]


@router.get("/invoices", response_model=InvoiceList, tags=TAG, summary="List invoices")
def list_invoices(
    request: Request, session: Session, actor: CurrentActor, paging: Paging, filters: Filters
) -> ListEnvelope:
    page = service.list_invoices(
        session, actor, filters, page=paging.page, per_page=paging.per_page
    )
    items = [InvoiceOut.of(invoice) for invoice in page.items]
    return envelope(InvoiceList, "invoices", page, items, request)


@router.get("/invoices/{id}", response_model=InvoiceOut, tags=TAG, summary="Get an invoice")
def get_invoice(id: str, session: Session, actor: CurrentActor) -> InvoiceOut:
    return InvoiceOut.of(service.get_invoice(session, actor, id))


@router.post(
    "/invoices",
    response_model=InvoiceOut,
    status_code=201,
    tags=TAG,
    summary="Create an invoice",
    description=(
        "A draft from explicit `line_items` (the Keito SDK's shape), or, when `line_items` is "
        "absent and the body has `period_start` and `period_end` (or any of `project_ids`, "
        "`tax_rate`, `overlap_strategy`, `group_by`, `include_expenses`, `include_outcomes`), "
        "from the client's unbilled tracked work in that period, which becomes billed."
    ),
)
def create_invoice(
    body: Annotated[dict[str, Any], Body()], session: Session, actor: CurrentActor
) -> InvoiceOut:
    from_work = "line_items" not in body and (
        {"period_start", "period_end"} <= body.keys() or bool(_TRACKED_KEYS & body.keys())
    )
    if from_work:
        command = TrackedWorkInvoice.model_validate(body)
        return InvoiceOut.of(tracked.create_from_tracked_work(session, actor, command))
    return InvoiceOut.of(service.create_invoice(session, actor, InvoiceCreate.model_validate(body)))


@router.patch(
    "/invoices/{id}", response_model=InvoiceOut, tags=TAG, summary="Update a draft invoice"
)
def update_invoice(
    id: str, command: Annotated[InvoiceUpdate, Body()], session: Session, actor: CurrentActor
) -> InvoiceOut:
    return InvoiceOut.of(service.update_invoice(session, actor, id, command))


@router.delete("/invoices/{id}", response_model=Deleted, tags=TAG, summary="Delete a draft invoice")
def delete_invoice(id: str, session: Session, actor: CurrentActor) -> Deleted:
    return Deleted(id=service.delete_invoice(session, actor, id).id)


@router.get(
    "/invoices/{id}/payments",
    response_model=PaymentList,
    tags=TAG,
    summary="List an invoice's payments",
)
def list_payments(
    id: str, request: Request, session: Session, actor: CurrentActor, paging: Paging
) -> ListEnvelope:
    page = payments.list_payments(session, actor, id, page=paging.page, per_page=paging.per_page)
    items = [PaymentOut.of(payment) for payment in page.items]
    return envelope(PaymentList, "invoice_payments", page, items, request)


@router.post(
    "/invoices/{id}/payments",
    response_model=PaymentOut,
    status_code=201,
    tags=TAG,
    summary="Record a payment",
)
def record_payment(
    id: str, command: Annotated[PaymentCreate, Body()], session: Session, actor: CurrentActor
) -> PaymentOut:
    return PaymentOut.of(payments.record_payment(session, actor, id, command))


@router.delete(
    "/invoices/{id}/payments/{payment_id}",
    response_model=Deleted,
    tags=TAG,
    summary="Delete a payment",
)
def delete_payment(id: str, payment_id: str, session: Session, actor: CurrentActor) -> Deleted:
    return Deleted(id=payments.delete_payment(session, actor, id, payment_id).id)
