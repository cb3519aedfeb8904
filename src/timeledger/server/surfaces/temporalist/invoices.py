"""/invoices/: invoices of a client's tracked time (billing/tracked.py), sent and paid
through the billing service. Temporal.ist's statuses are our states under other names."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from timeledger.server.billing import payments, tracked
from timeledger.server.billing import service as billing
from timeledger.server.billing.schemas import InvoiceFilters, TrackedWorkInvoice
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.temporalist.deps import CurrentActor, Session, every
from timeledger.server.surfaces.temporalist.wire import (
    ERROR_RESPONSES,
    STATE_OF_STATUS,
    InvoiceIn,
    InvoiceOut,
    InvoiceStatus,
)

router = SurfaceRouter(tags=["invoices"], responses=ERROR_RESPONSES)


@router.get("/invoices/", summary="List invoices, newest first")
def list_invoices(
    session: Session,
    actor: CurrentActor,
    status: Annotated[InvoiceStatus | None, Query()] = None,
    client_id: Annotated[uuid.UUID | None, Query()] = None,
) -> list[InvoiceOut]:
    filters = InvoiceFilters(
        state=STATE_OF_STATUS[status] if status else None,
        client_id=str(client_id) if client_id else None,
    )
    rows = every(
        lambda page, per_page: billing.list_invoices(
            session, actor, filters, page=page, per_page=per_page
        )
    )
    return [InvoiceOut.of(row) for row in rows]


@router.post("/invoices/", status_code=201, summary="Invoice a client's time in a period")
def create_invoice(body: InvoiceIn, session: Session, actor: CurrentActor) -> InvoiceOut:
    command = TrackedWorkInvoice(
        client_id=str(body.client_id),
        period_start=body.period_start,
        period_end=body.period_end,
        project_ids=[str(p) for p in body.project_ids] if body.project_ids is not None else None,
        tax_rate=body.tax_rate,
        notes=body.notes,
        overlap_strategy=body.overlap_strategy,
    )
    return InvoiceOut.of(tracked.create_from_tracked_work(session, actor, command))


@router.get("/invoices/{id}/", summary="Get an invoice")
def get_invoice(id: str, session: Session, actor: CurrentActor) -> InvoiceOut:
    return InvoiceOut.of(billing.get_invoice(session, actor, id))


@router.post("/invoices/{id}/send/", summary="Mark an invoice as sent")
def send_invoice(id: str, session: Session, actor: CurrentActor) -> InvoiceOut:
    invoice = billing.get_invoice(session, actor, id)
    return InvoiceOut.of(billing.mark_sent(session, actor, invoice))


@router.post("/invoices/{id}/mark_paid/", summary="Mark an invoice as paid today")
def mark_paid(id: str, session: Session, actor: CurrentActor) -> InvoiceOut:
    return InvoiceOut.of(payments.mark_paid(session, actor, id))
