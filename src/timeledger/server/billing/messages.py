"""Invoice messages (Keito's InvoiceMessage): a record of an invoice sent to recipients or of
a state move (event_type send, close, re-open, view, draft), and the email itself; and an
invoice's PDF.

A `send` is recorded and the invoice moved (draft -> open, invoice.sent) first; the email
goes last, inside the same transaction, so a failed delivery (DeliveryFailed, 502) rolls
everything back: nothing recorded, state unchanged, and the caller hears why. With no SMTP
server configured (TIMELEDGER_SMTP_URL unset) a `send` is recorded and moves the state, and
nothing is mailed. Other event types never mail. `include_attachments` is recorded only:
invoices carry no attachments of their own yet."""

from __future__ import annotations

import re
from email.utils import formataddr
from typing import Annotated, Literal

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from timeledger.server.accounts.models import User
from timeledger.server.billing.document import InvoiceDocument, day, money
from timeledger.server.billing.mailer import Attachment, Mailer, OutgoingEmail
from timeledger.server.billing.models import InvoiceMessage
from timeledger.server.billing.service import document_for, get_invoice, record_transition
from timeledger.server.core.actor import Actor
from timeledger.server.core.crud import Page, paginate, scoped
from timeledger.server.core.errors import ValidationFailed
from timeledger.server.core.fields import Command, Email, LongText, Name, ShortText

EventType = Literal["send", "close", "re-open", "view", "draft"]
MAX_RECIPIENTS = 50


# Characters that would break out of an email header, an address, or a file name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PATH_SEPARATORS = re.compile(r"[\\/\x00-\x1f\x7f]")
_ADDRESS_SPECIALS = re.compile(r'[\x00-\x1f\x7f<>,;:"()\[\]\\]')


class Recipient(Command):
    name: Name
    email: Email

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("must be one line without control characters")
        return value

    @field_validator("email")
    @classmethod
    def _plain_address(cls, value: str) -> str:
        if _ADDRESS_SPECIALS.search(value):
            raise ValueError(f"{value!r} is not a single plain email address")
        return value


class MessageCreate(Command):
    recipients: Annotated[list[Recipient], Field(max_length=MAX_RECIPIENTS)] = []
    subject: ShortText | None = None
    body: LongText | None = None
    attach_pdf: bool = False
    send_me_a_copy: bool = False
    include_attachments: bool = False
    event_type: EventType = "send"


def pdf_filename(number: str) -> str:
    """invoice-<number>.pdf, with no path separators (a format may put "/" in numbers)."""
    return f"invoice-{_PATH_SEPARATORS.sub('-', number)}.pdf"


def send_message(
    session: Session, actor: Actor, invoice_id: str, command: MessageCreate, mailer: Mailer
) -> InvoiceMessage:
    """Record the message and apply its event_type; a `send` also emails the recipients
    when SMTP is configured, with a subject and body made from the invoice if not given."""
    invoice = get_invoice(session, actor, invoice_id)
    sending = command.event_type == "send"
    if sending and not command.recipients:
        raise ValidationFailed("recipients: name at least one to send to", field="recipients")
    record_transition(session, actor, invoice, command.event_type)
    sender = session.get(User, actor.user_id)
    email = None
    if sending:  # after the move, so an attached PDF no longer says DRAFT
        with_pdf = command.attach_pdf and mailer.configured
        email = _email(document_for(session, actor, invoice), command, sender, with_pdf)
    message = InvoiceMessage(
        account_id=actor.account_id,
        invoice_id=invoice.id,
        sent_by_id=actor.user_id,
        recipients=[r.model_dump() for r in command.recipients],
        subject=email.subject if email else command.subject,
        body=email.body if email else command.body,
        attach_pdf=command.attach_pdf,
        send_me_a_copy=command.send_me_a_copy,
        include_attachments=command.include_attachments,
        event_type=command.event_type,
    )
    message.sent_by = sender
    session.add(message)
    session.flush()
    if email is not None and mailer.configured:
        mailer.send(email)  # last: a failure rolls back everything above
    return message


def _email(
    doc: InvoiceDocument, command: MessageCreate, sender: User | None, with_pdf: bool
) -> OutgoingEmail:
    attachments: tuple[Attachment, ...] = ()
    if with_pdf:
        pdf = Attachment(pdf_filename(doc.number), _render_pdf(doc), "application/pdf")
        attachments = (pdf,)
    return OutgoingEmail(
        recipients=tuple(formataddr((r.name, r.email)) for r in command.recipients),
        cc=(sender.email,) if command.send_me_a_copy and sender is not None else (),
        subject=command.subject or f"Invoice {doc.number} from {doc.sender.name}",
        body=command.body or _body(doc),
        attachments=attachments,
    )


def list_messages(
    session: Session, actor: Actor, invoice_id: str, *, page: int, per_page: int
) -> Page[InvoiceMessage]:
    """An invoice's messages, newest first."""
    invoice = get_invoice(session, actor, invoice_id)
    stmt = scoped(InvoiceMessage, actor.account_id).where(InvoiceMessage.invoice_id == invoice.id)
    stmt = stmt.order_by(InvoiceMessage.created_at.desc(), InvoiceMessage.id.desc())
    return paginate(session, stmt, page, per_page)


def invoice_pdf(session: Session, actor: Actor, invoice_id: str) -> tuple[str, bytes]:
    """(file name, PDF bytes) of an invoice as it stands."""
    invoice = get_invoice(session, actor, invoice_id)
    return pdf_filename(invoice.number), _render_pdf(document_for(session, actor, invoice))


def _body(doc: InvoiceDocument) -> str:
    due = f" by {day(doc.due_date)}" if doc.due_date and doc.due_amount else ""
    lines = [
        f"Hello {doc.recipient.name},",
        "",
        f"Here is invoice {doc.number} for {doc.currency} {money(doc.amount, doc.currency)}.",
        f"Amount due{due}: {doc.currency} {money(doc.due_amount, doc.currency)}.",
        "",
        "Thank you,",
        doc.sender.name,
    ]
    return "\n".join(lines)


def _render_pdf(doc: InvoiceDocument) -> bytes:
    # Imported on first use: fpdf2 and its font tools add about 30 MiB to every server
    # process, most of which never draws an invoice.
    from timeledger.server.billing.pdf import render_invoice_pdf

    return render_invoice_pdf(doc)
