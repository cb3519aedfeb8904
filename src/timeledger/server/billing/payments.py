"""Payments against an invoice: a partial payment lowers what is due, the one that leaves
nothing due makes the invoice paid, and deleting a payment of a paid invoice re-opens it.
Only a sent (open) invoice takes payments; paying more than is due is refused."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from timeledger.server.accounts.service import get_account
from timeledger.server.audit import trail
from timeledger.server.billing.models import Invoice, InvoicePayment
from timeledger.server.billing.schemas import PaymentCreate
from timeledger.server.billing.service import get_invoice, payload
from timeledger.server.core.actor import Actor
from timeledger.server.core.clock import utcnow
from timeledger.server.core.crud import (
    Page,
    create_and_emit,
    delete_and_emit,
    paginate,
    scoped,
    snapshot,
)
from timeledger.server.core.errors import Conflict, NotFound, ValidationFailed
from timeledger.server.core.ids import parse_id
from timeledger.server.core.money import fits_scale, minor_units
from timeledger.server.outbox.service import emit


def list_payments(
    session: Session, actor: Actor, invoice_id: str, *, page: int, per_page: int
) -> Page[InvoicePayment]:
    invoice = get_invoice(session, actor, invoice_id)
    stmt = scoped(InvoicePayment, actor.account_id).where(InvoicePayment.invoice_id == invoice.id)
    return paginate(session, stmt.order_by(InvoicePayment.id.desc()), page, per_page)


def record_payment(
    session: Session, actor: Actor, invoice_id: str, command: PaymentCreate
) -> InvoicePayment:
    invoice = get_invoice(session, actor, invoice_id)
    if invoice.state in ("draft", "closed"):
        raise Conflict(
            f"a {invoice.state} invoice cannot take payments"
            + ("; send it first" if invoice.state == "draft" else ""),
            code="invalid_transition",
        )
    if not fits_scale(command.amount, minor_units(invoice.currency)):
        raise ValidationFailed(
            f"amount has more decimal places than {invoice.currency} has "
            f"({minor_units(invoice.currency)})",
            field="amount",
        )
    if command.amount > invoice.due_amount:
        raise ValidationFailed(
            f"amount {command.amount} is more than the {invoice.due_amount} {invoice.currency} due",
            field="amount",
        )
    return _pay(session, actor, invoice, command)


def mark_paid(session: Session, actor: Actor, invoice_id: str) -> Invoice:
    """Settle whatever is due with one payment dated today, from draft or open; a paid invoice
    is left as it is (no-op), a closed one must be re-opened first."""
    invoice = get_invoice(session, actor, invoice_id)
    if invoice.state == "paid":
        return invoice
    if invoice.state == "closed":
        raise Conflict(
            "a closed invoice cannot be marked paid; re-open it first", code="invalid_transition"
        )
    if invoice.due_amount > 0:
        _pay(session, actor, invoice, PaymentCreate(amount=invoice.due_amount))
    else:  # nothing to pay (a zero invoice): settled as it stands
        now = utcnow()
        zone = ZoneInfo(get_account(session, actor.account_id).timezone)
        _settle(session, actor, invoice, now, now.astimezone(zone).date())
    return invoice


def _pay(
    session: Session, actor: Actor, invoice: Invoice, command: PaymentCreate
) -> InvoicePayment:
    zone = ZoneInfo(get_account(session, actor.account_id).timezone)
    paid_at = command.paid_at
    if paid_at is None:
        day = command.paid_date
        paid_at = utcnow() if day is None else datetime.combine(day, time(), tzinfo=zone)
    payment = InvoicePayment(
        account_id=actor.account_id,
        invoice_id=invoice.id,
        amount=command.amount,
        paid_at=paid_at,
        paid_date=command.paid_date or paid_at.astimezone(zone).date(),
        notes=command.notes,
        recorded_by_id=actor.user_id,
    )
    create_and_emit(session, actor, payment, "invoice_payment")
    invoice.paid_amount += payment.amount
    if invoice.due_amount == 0:
        _settle(session, actor, invoice, paid_at, payment.paid_date)
    session.flush()
    return payment


def _settle(
    session: Session, actor: Actor, invoice: Invoice, paid_at: datetime, paid_date: date
) -> None:
    before = snapshot(invoice)
    invoice.state, invoice.paid_at, invoice.paid_date = "paid", paid_at, paid_date
    session.flush()
    emit(session, invoice.account_id, "invoice.paid", payload(invoice))
    trail.record(session, actor, "invoice.paid", invoice, before, snapshot(invoice))


def delete_payment(
    session: Session, actor: Actor, invoice_id: str, payment_id: str
) -> InvoicePayment:
    invoice = get_invoice(session, actor, invoice_id)
    uid = parse_id(payment_id)
    payment = session.get(InvoicePayment, uid) if uid else None
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound("payment")
    if invoice.state == "closed":
        raise Conflict(
            "a closed invoice's payments cannot change; re-open it first",
            code="invalid_transition",
        )
    delete_and_emit(session, actor, payment, "invoice_payment")
    invoice.paid_amount -= payment.amount
    if invoice.state == "paid":
        invoice.state, invoice.paid_at, invoice.paid_date = "open", None, None
    session.flush()
    return payment
