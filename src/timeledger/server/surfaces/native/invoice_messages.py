"""/api/v2 invoice messages (send, close, re-open ... an invoice; email it) and invoice PDFs."""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Body, Depends, Request, Response

from timeledger.server.billing import messages
from timeledger.server.billing.mailer import Mailer
from timeledger.server.billing.messages import MessageCreate
from timeledger.server.billing.models import InvoiceMessage
from timeledger.server.surfaces.http import SurfaceRouter, waits_on_network
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.wire import (
    Id,
    ListEnvelope,
    Wire,
    envelope,
    full_name,
    list_model,
)

router = SurfaceRouter(tags=["invoice messages"])

# Tells the caller of a `send` whether an email went out: "sent", or "not_configured" when
# the server has no SMTP server (TIMELEDGER_SMTP_URL), or "none" for other event types.
EMAIL_HEADER = "X-Timeledger-Email"


class RecipientOut(Wire):
    name: str | None
    email: str


class InvoiceMessageOut(Wire):
    id: Id
    invoice_id: Id
    sent_by: str | None
    sent_by_email: str | None
    sent_from: str | None
    sent_from_email: str | None
    recipients: list[RecipientOut]
    subject: str | None
    body: str | None
    attach_pdf: bool
    send_me_a_copy: bool
    include_attachments: bool
    thank_you: bool = False
    reminder: bool = False
    event_type: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: InvoiceMessage) -> "InvoiceMessageOut":
        user = row.sent_by
        name = full_name(user) if user is not None else None
        email = user.email if user is not None else None
        return cls(
            id=row.id,
            invoice_id=row.invoice_id,
            sent_by=name,
            sent_by_email=email,
            sent_from=name,
            sent_from_email=email,
            recipients=[RecipientOut.model_validate(r) for r in row.recipients],
            subject=row.subject,
            body=row.body,
            attach_pdf=row.attach_pdf,
            send_me_a_copy=row.send_me_a_copy,
            include_attachments=row.include_attachments,
            event_type=row.event_type,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


InvoiceMessageList = list_model("invoice_messages", InvoiceMessageOut)


async def _mailer(request: Request) -> Mailer:
    return Mailer.from_settings(request.app.state.settings)


@router.get(
    "/invoices/{id}/pdf",
    summary="The invoice as a PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def get_pdf(id: str, session: Session, actor: CurrentActor) -> Response:
    filename, pdf = messages.invoice_pdf(session, actor, id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": _attachment(filename)},
    )


@router.post(
    "/invoices/{id}/messages",
    response_model=InvoiceMessageOut,
    status_code=201,
    summary=(
        "Record a message and apply its event_type (send, close, re-open, view, draft); "
        "a send emails the recipients when the server has SMTP configured"
    ),
)
@waits_on_network  # the SMTP exchange: up to TIMELEDGER_SMTP_TIMEOUT seconds
def create_message(
    id: str,
    command: Annotated[MessageCreate, Body()],
    session: Session,
    actor: CurrentActor,
    mailer: Annotated[Mailer, Depends(_mailer)],
    response: Response,
) -> InvoiceMessageOut:
    row = messages.send_message(session, actor, id, command, mailer)
    if command.event_type != "send":
        response.headers[EMAIL_HEADER] = "none"
    else:
        response.headers[EMAIL_HEADER] = "sent" if mailer.configured else "not_configured"
    return InvoiceMessageOut.of(row)


@router.get(
    "/invoices/{id}/messages",
    response_model=InvoiceMessageList,
    summary="List an invoice's messages, newest first",
)
def list_messages(
    id: str, request: Request, session: Session, actor: CurrentActor, paging: Paging
) -> ListEnvelope:
    page = messages.list_messages(session, actor, id, page=paging.page, per_page=paging.per_page)
    items: list[Any] = [InvoiceMessageOut.of(row) for row in page.items]
    return envelope(InvoiceMessageList, "invoice_messages", page, items, request)


def _attachment(filename: str) -> str:
    """A Content-Disposition any client reads: an ASCII name, and the exact one (RFC 6266)."""
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
