"""Invoices: creating them from line items (or, via billing/tracked.py, from tracked work),
editing drafts, moving them through their states, and the document a PDF is made from.

States: draft -> open (sent) -> paid, and closed for written off or void. Only a draft can
be edited or deleted. Closing an invoice with nothing paid voids it: the tracked work it
billed is released to be billed again, so a void invoice cannot be re-opened. Paying is
billing/payments.py; arithmetic is billing/totals.py; numbers are billing/numbering.py."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, update
from sqlalchemy.orm import Session

from timeledger.server.accounts.models import Account
from timeledger.server.accounts.service import get_account
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.audit import trail
from timeledger.server.billing import numbering, totals
from timeledger.server.billing.document import DocumentLine, InvoiceDocument, Party
from timeledger.server.billing.models import Invoice, InvoiceCounter, InvoiceLineItem
from timeledger.server.billing.schemas import (
    InvoiceCreate,
    InvoiceFields,
    InvoiceFilters,
    InvoiceUpdate,
    LineItemInput,
)
from timeledger.server.catalog.models import Client, Project
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.clock import utcnow
from timeledger.server.core.crud import (
    Page,
    create_and_emit,
    delete_and_emit,
    get_scoped,
    paginate,
    scoped,
    snapshot,
    update_and_emit,
)
from timeledger.server.core.errors import Conflict, NotFound, ValidationFailed
from timeledger.server.core.ids import parse_id
from timeledger.server.core.money import MAX_AMOUNT
from timeledger.server.db import upsert
from timeledger.server.outbox.service import emit
from timeledger.server.tracking.models import BillingMark

INVOICING = "invoicing"
_NET_DAYS = {"upon_receipt": 0, "net_15": 15, "net_30": 30, "net_45": 45, "net_60": 60}


# --- reading ---------------------------------------------------------------------------------


def get_invoice(session: Session, actor: Actor, invoice_id: str) -> Invoice:
    """The invoice with this id in the caller's account (404 otherwise)."""
    actor.require(Role.manager, INVOICING)
    return get_scoped(session, Invoice, actor.account_id, parse_id(invoice_id), "invoice")


def list_invoices(
    session: Session, actor: Actor, filters: InvoiceFilters, *, page: int, per_page: int
) -> Page[Invoice]:
    actor.require(Role.manager, INVOICING)
    stmt: Select[Invoice] = scoped(Invoice, actor.account_id)
    if filters.from_ and filters.to and filters.from_ > filters.to:
        raise ValidationFailed("from must not be after to", field="from")
    if filters.state is not None:
        stmt = stmt.where(Invoice.state == filters.state)
    if filters.client_id is not None:
        stmt = stmt.where(Invoice.client_id == parse_id(filters.client_id))
    if filters.from_ is not None:
        stmt = stmt.where(Invoice.issue_date >= filters.from_)
    if filters.to is not None:
        stmt = stmt.where(Invoice.issue_date <= filters.to)
    if filters.updated_since is not None:
        stmt = stmt.where(Invoice.updated_at >= filters.updated_since)
    return paginate(session, stmt.order_by(Invoice.id.desc()), page, per_page)


def payload(invoice: Invoice) -> dict[str, Any]:
    """An invoice as event data: its columns and its due amount."""
    return {**snapshot(invoice), "due_amount": str(invoice.due_amount)}


# --- creating --------------------------------------------------------------------------------


def next_seq(session: Session, account_id: uuid.UUID) -> int:
    """The account's next invoice sequence number, taken inside the caller's transaction:
    UPDATE ... RETURNING locks the counter row on PostgreSQL until commit (SQLite admits one
    writer), so concurrent creations get distinct numbers, and one that rolls back gives its
    number back (no gaps)."""
    session.execute(
        upsert(session.get_bind().dialect.name, InvoiceCounter)
        .values(account_id=account_id, last_seq=0)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )
    seq = session.scalar(
        update(InvoiceCounter)
        .where(InvoiceCounter.account_id == account_id)
        .values(last_seq=InvoiceCounter.last_seq + 1)
        .returning(InvoiceCounter.last_seq)
    )
    assert seq is not None  # the row exists: inserted just above or earlier
    return int(seq)


def resolve_client(session: Session, actor: Actor, raw_id: str) -> Client:
    try:
        return get_scoped(session, Client, actor.account_id, parse_id(raw_id), "client")
    except NotFound:
        raise ValidationFailed(
            "client_id does not name a client of this account", field="client_id"
        ) from None


def today(account: Account) -> date:
    return utcnow().astimezone(ZoneInfo(account.timezone)).date()


def due_date_for(
    term: str | None, issue_date: date, due_date: date | None, client: Client
) -> tuple[str, date]:
    """(payment_term, due_date): a net term sets the due date; `custom` (or a due date with
    no term) takes the given date; neither falls back to the client's terms."""
    if term is None:
        if due_date is not None:
            term = "custom"
        elif client.payment_terms in _NET_DAYS:
            term = client.payment_terms
        elif client.payment_terms == "custom" and client.payment_days is not None:
            return "custom", issue_date + timedelta(days=client.payment_days)
        else:
            term = "upon_receipt"
    if term == "custom":
        if due_date is None:
            raise ValidationFailed(
                "due_date is required when payment_term is custom", field="due_date"
            )
    elif due_date is not None and due_date != issue_date + timedelta(days=_NET_DAYS[term]):
        raise ValidationFailed(
            f"due_date follows from payment_term {term}; send payment_term custom to set it",
            field="due_date",
        )
    else:
        due_date = issue_date + timedelta(days=_NET_DAYS[term])
    if due_date < issue_date:
        raise ValidationFailed("due_date must not be before issue_date", field="due_date")
    return term, due_date


def _check_period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed("period_end must not be before period_start", field="period_end")


def new_invoice(
    session: Session, actor: Actor, client: Client, fields: InvoiceFields, currency: str
) -> Invoice:
    """A numbered draft for the client, flushed (it has an id rows can point at) but not yet
    announced: the caller adds its lines, then `announce`s it. Percentages the command leaves
    out default to the client's."""
    _check_period(fields.period_start, fields.period_end)
    account = get_account(session, actor.account_id)
    issue_date = fields.issue_date or today(account)
    term, due = due_date_for(fields.payment_term, issue_date, fields.due_date, client)
    seq = next_seq(session, actor.account_id)
    fmt = AccountSettings.of(account).invoice_number_format
    sent = fields.model_fields_set
    invoice = Invoice(
        account_id=actor.account_id,
        client_id=client.id,
        created_by_id=actor.user_id,
        seq=seq,
        number=numbering.render(fmt, seq, issue_date),
        state="draft",
        subject=fields.subject,
        notes=fields.notes,
        purchase_order=fields.purchase_order,
        currency=currency,
        issue_date=issue_date,
        due_date=due,
        payment_term=term,
        period_start=fields.period_start,
        period_end=fields.period_end,
        tax=fields.tax if "tax" in sent else client.tax,
        tax2=fields.tax2 if "tax2" in sent else client.tax2,
        discount=fields.discount if "discount" in sent else client.discount,
        is_void=False,
    )
    invoice.client = client
    session.add(invoice)
    session.flush()
    return invoice


def line_row(
    session: Session, actor: Actor, invoice: Invoice, item: LineItemInput, index: int
) -> InvoiceLineItem:
    """A new line of the invoice from a command's line item (at position `index`)."""
    line = InvoiceLineItem(account_id=actor.account_id, invoice_id=invoice.id, position=index)
    _set_line(session, actor, invoice, line, item, index, item.model_fields_set | {"kind"})
    return line


def _set_line(
    session: Session,
    actor: Actor,
    invoice: Invoice,
    line: InvoiceLineItem,
    item: LineItemInput,
    index: int,
    given: set[str],
) -> None:
    """Copy the given fields of a command's line item onto a line and price it."""
    for name in ("kind", "quantity", "unit_price", "taxed", "taxed2"):
        if name in given or getattr(line, name) is None:
            setattr(line, name, getattr(item, name))
    if "description" in given or line.description is None:
        line.description = item.description or ""
    if "project_id" in given:
        line.project_id = _line_project(session, actor, item.project_id, index)
    line.amount = totals.line_amount(line.quantity, line.unit_price, invoice.currency)
    if line.amount > MAX_AMOUNT:
        raise ValidationFailed(
            f"line_items.{index}: quantity x unit_price must be at most {MAX_AMOUNT}",
            field=f"line_items.{index}.quantity",
        )


def _line_project(
    session: Session, actor: Actor, raw_id: str | None, index: int
) -> uuid.UUID | None:
    if raw_id is None:
        return None
    field = f"line_items.{index}.project_id"
    try:
        return get_scoped(session, Project, actor.account_id, parse_id(raw_id), "project").id
    except NotFound:
        raise ValidationFailed(
            f"{field} does not name a project of this account", field=field
        ) from None


def priced(invoice: Invoice, lines: list[totals.Line]) -> dict[str, Any]:
    """The invoice's computed amounts for these lines (totals.py has the order of steps)."""
    result = totals.totals(
        lines, invoice.currency, discount=invoice.discount, tax=invoice.tax, tax2=invoice.tax2
    )
    if result.amount > MAX_AMOUNT:
        raise ValidationFailed(
            f"the invoice total must be at most {MAX_AMOUNT}", field="line_items"
        )
    return {
        "subtotal": result.subtotal,
        "discount_amount": result.discount_amount,
        "tax_amount": result.tax_amount,
        "tax2_amount": result.tax2_amount,
        "amount": result.amount,
    }


def _lines_of(invoice: Invoice) -> list[totals.Line]:
    return [totals.Line(line.amount, line.taxed, line.taxed2) for line in invoice.line_items]


def announce(session: Session, actor: Actor, invoice: Invoice, lines: list[totals.Line]) -> Invoice:
    """Price a new invoice from its lines and emit invoice.created."""
    for name, value in priced(invoice, lines).items():
        setattr(invoice, name, value)
    return create_and_emit(session, actor, invoice, "invoice")


def create_invoice(session: Session, actor: Actor, command: InvoiceCreate) -> Invoice:
    """A draft from explicit line items (none is fine: lines can be added while it is a draft)."""
    actor.require(Role.manager, INVOICING)
    client = resolve_client(session, actor, command.client_id)
    account = get_account(session, actor.account_id)
    currency = command.currency or client.currency or account.currency
    invoice = new_invoice(session, actor, client, command, currency)
    rows = [line_row(session, actor, invoice, item, i) for i, item in enumerate(command.line_items)]
    invoice.line_items = rows
    return announce(session, actor, invoice, _lines_of(invoice))


# --- editing drafts --------------------------------------------------------------------------


def _ensure_draft(invoice: Invoice, doing: str) -> None:
    if invoice.state != "draft":
        raise Conflict(
            f"only a draft invoice can be {doing}; this one is {invoice.state}",
            code="invoice_not_draft",
        )


def _bills_work(session: Session, invoice: Invoice) -> bool:
    return session.scalar(BillingMark.items_of(invoice.id).limit(1)) is not None


def update_invoice(
    session: Session, actor: Actor, invoice_id: str, command: InvoiceUpdate
) -> Invoice:
    invoice = get_invoice(session, actor, invoice_id)
    _ensure_draft(invoice, "edited")
    changes = command.changes()
    changes.pop("line_items", None)
    _check_period(
        changes.get("period_start", invoice.period_start),
        changes.get("period_end", invoice.period_end),
    )
    if {"issue_date", "payment_term", "due_date"} & changes.keys():
        changes["payment_term"], changes["due_date"] = _new_terms(invoice, changes)
    currency = changes.get("currency", invoice.currency)
    if currency != invoice.currency and _bills_work(session, invoice):
        raise ValidationFailed(
            "currency cannot change on an invoice of tracked work (billed in its projects' "
            "currency)",
            field="currency",
        )
    # Apply first, so lines are priced in the new currency at the new rates.
    for name in ("currency", "tax", "tax2", "discount"):
        if name in changes:
            setattr(invoice, name, changes[name])
    lines_changed = "line_items" in command.model_fields_set
    if lines_changed:
        _edit_lines(session, actor, invoice, command.line_items)
    if lines_changed or "currency" in changes:
        for line in invoice.line_items:
            line.amount = totals.line_amount(line.quantity, line.unit_price, invoice.currency)
    changes.update(priced(invoice, _lines_of(invoice)))
    if lines_changed:
        changes["updated_at"] = utcnow()  # the lines are part of the invoice
    return update_and_emit(session, actor, invoice, changes, "invoice")


def _new_terms(invoice: Invoice, changes: dict[str, Any]) -> tuple[str, date]:
    issue_date = changes.get("issue_date", invoice.issue_date)
    term = changes.get("payment_term")
    due = changes.get("due_date")
    if term is None and due is None:  # only the issue date moved: keep the terms
        term = invoice.payment_term
        due = invoice.due_date if term == "custom" else None
    elif term == "custom" and due is None:
        due = invoice.due_date
    return due_date_for(term, issue_date, due, invoice.client)


def _edit_lines(
    session: Session, actor: Actor, invoice: Invoice, items: list[LineItemInput]
) -> None:
    """Harvest's semantics: an item with `id` changes that line (or removes it with
    `_destroy`), one without `id` is added at the end."""
    by_id = {str(line.id): line for line in invoice.line_items}
    position = max((line.position for line in invoice.line_items), default=-1) + 1
    for index, item in enumerate(items):
        if item.id is None:
            if item.destroy:
                raise ValidationFailed(
                    f"line_items.{index}._destroy needs the id of the line to remove",
                    field=f"line_items.{index}.id",
                )
            line = line_row(session, actor, invoice, item, index)
            line.position = position
            position += 1
            invoice.line_items.append(line)
            continue
        found = by_id.get(item.id)
        if found is None:
            raise ValidationFailed(
                f"line_items.{index}.id does not name a line of this invoice",
                field=f"line_items.{index}.id",
            )
        if item.destroy:
            invoice.line_items.remove(found)
        else:
            _set_line(session, actor, invoice, found, item, index, item.model_fields_set)


def release_work(session: Session, invoice: Invoice) -> int:
    """The time entries and expenses the invoice billed become unbilled (and editable):
    their marks are stamped released, which is also what tells clients syncing by
    updated_since; returns how many."""
    billed = BillingMark.invoice_id == invoice.id, BillingMark.bills
    released = update(BillingMark).where(*billed).values(released_at=utcnow())
    return int(session.execute(released).rowcount)  # type: ignore[attr-defined]


def delete_invoice(session: Session, actor: Actor, invoice_id: str) -> Invoice:
    """Delete a draft; the work it billed is released."""
    invoice = get_invoice(session, actor, invoice_id)
    _ensure_draft(invoice, "deleted")
    release_work(session, invoice)
    delete_and_emit(session, actor, invoice, "invoice")
    return invoice


# --- state moves -----------------------------------------------------------------------------


def record_transition(session: Session, actor: Actor, invoice: Invoice, event_type: str) -> Invoice:
    """Apply the state move of an invoice message's event_type (409 when impossible):
    send: draft -> open (stamps sent_at; an open or paid invoice may be sent again);
    close: draft or open -> closed (void when nothing is paid: its work is released);
    re-open: closed -> open, or draft if it was never sent (not a void invoice);
    draft: open -> draft while nothing is paid; view: no move."""
    actor.require(Role.manager, INVOICING)
    state, now, before = invoice.state, utcnow(), snapshot(invoice)
    if event_type == "view":
        return invoice
    if event_type == "send":
        _refuse_closed(invoice, "sent")
        invoice.sent_at = now
        if state == "draft":
            invoice.state = "open"
        return _moved(session, actor, invoice, before, "invoice.sent")
    if event_type == "close":
        _refuse_closed(invoice, "closed again")
        if state == "paid":
            raise Conflict("a paid invoice cannot be closed", code="invalid_transition")
        invoice.state, invoice.closed_at = "closed", now
        if invoice.paid_amount == 0:
            invoice.is_void = release_work(session, invoice) > 0
        return _moved(session, actor, invoice, before, "invoice.closed")
    if event_type == "re-open":
        if state != "closed":
            raise Conflict(
                f"only a closed invoice can be re-opened; this one is {state}",
                code="invalid_transition",
            )
        if invoice.is_void:
            raise Conflict(
                "this invoice was voided and its work released; create a new invoice",
                code="invalid_transition",
            )
        invoice.state = "open" if invoice.sent_at else "draft"
        invoice.closed_at, invoice.is_void = None, False
        return _moved(session, actor, invoice, before, "invoice.updated")
    if event_type == "draft":
        if state == "draft":
            return invoice
        if state != "open" or invoice.paid_amount:
            raise Conflict(
                f"only an open invoice with no payments can go back to draft; this one is {state}",
                code="invalid_transition",
            )
        invoice.state, invoice.sent_at = "draft", None
        return _moved(session, actor, invoice, before, "invoice.updated")
    raise ValidationFailed(
        "event_type must be one of send, close, re-open, view, draft", field="event_type"
    )


def mark_sent(session: Session, actor: Actor, invoice: Invoice) -> Invoice:
    """Mark an invoice sent without a message (email goes out elsewhere): only a draft or an
    already-sent invoice may be, unlike a message, which may re-send a paid invoice."""
    if invoice.state not in ("draft", "open"):
        raise Conflict(
            f"only a draft or sent invoice can be marked sent; this one is {invoice.state}",
            code="invalid_transition",
        )
    return record_transition(session, actor, invoice, "send")


def _refuse_closed(invoice: Invoice, doing: str) -> None:
    if invoice.state == "closed":
        raise Conflict(
            f"a closed invoice cannot be {doing}; re-open it first", code="invalid_transition"
        )


def _moved(
    session: Session, actor: Actor, invoice: Invoice, before: dict[str, Any], event: str
) -> Invoice:
    session.flush()
    emit(session, invoice.account_id, event, payload(invoice))
    trail.record(session, actor, event, invoice, before, snapshot(invoice))
    return invoice


# --- the document a PDF or an email is made from ---------------------------------------------


def document_for(session: Session, actor: Actor, invoice: Invoice) -> InvoiceDocument:
    account = get_account(session, actor.account_id)
    client = invoice.client
    return InvoiceDocument(
        number=invoice.number,
        state=invoice.state,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        sender=Party(name=account.name),
        recipient=Party(name=client.name, address=client.address, email=client.email),
        subject=invoice.subject,
        notes=invoice.notes,
        purchase_order=invoice.purchase_order,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        lines=tuple(
            DocumentLine(
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                taxed=line.taxed,
                taxed2=line.taxed2,
            )
            for line in invoice.line_items
        ),
        subtotal=invoice.subtotal,
        discount=invoice.discount,
        discount_amount=invoice.discount_amount,
        tax=invoice.tax,
        tax_amount=invoice.tax_amount,
        tax2=invoice.tax2,
        tax2_amount=invoice.tax2_amount,
        amount=invoice.amount,
        paid_amount=invoice.paid_amount,
        due_amount=invoice.due_amount,
    )
