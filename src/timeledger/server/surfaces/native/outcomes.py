"""/api/v2 outcomes: results billed per unit. Each is also a 0-hour time entry (same id), so
it shows in the time lists; change or delete it through /time_entries/{id}."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request

from timeledger.server.core.fields import AwareDatetime
from timeledger.server.outcomes import service as outcomes
from timeledger.server.outcomes.schemas import OutcomeCreate, OutcomeFilters
from timeledger.server.outcomes.service import OutcomeView
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.wire import (
    Id,
    IdName,
    ListEnvelope,
    Number,
    Timestamps,
    envelope,
    list_model,
)

router = APIRouter(tags=["outcomes"])


class OutcomeOut(Timestamps):
    id: Id
    time_entry_id: Id
    type: str
    description: str | None
    unit_price: Number | None
    quantity: int
    success: bool
    evidence: dict[str, Any] | None
    amount: Number
    revenue: Number
    currency: str
    spent_date: date
    user_id: Id
    user: IdName
    project_id: Id
    project: IdName
    task_id: Id
    task: IdName
    client_id: Id | None
    client: IdName | None
    source: Literal["web", "cli", "api", "agent"]
    billable: bool
    metadata: dict[str, Any] | None
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"]
    is_locked: bool
    is_billed: bool

    @classmethod
    def of(cls, view: OutcomeView) -> "OutcomeOut":
        o, e = view.outcome, view.entry.entry
        user, client = e.user, e.project.client
        user_name = " ".join(p for p in (user.first_name, user.last_name) if p) or user.email
        return cls(
            id=o.id,
            time_entry_id=e.id,
            type=o.type,
            description=e.notes,
            unit_price=o.unit_price,
            quantity=o.quantity,
            success=o.success,
            evidence=o.evidence,
            amount=o.amount,
            revenue=view.revenue,
            currency=view.entry.currency,
            spent_date=e.spent_date,
            user_id=e.user_id,
            user=IdName(id=user.id, name=user_name),
            project_id=e.project_id,
            project=IdName(id=e.project.id, name=e.project.name),
            task_id=e.task_id,
            task=IdName(id=e.task.id, name=e.task.name),
            client_id=client.id if client else None,
            client=IdName(id=client.id, name=client.name) if client else None,
            source=e.source,
            billable=e.billable,
            metadata=e.meta,
            approval_status=e.approval_status,
            is_locked=view.entry.is_locked,
            is_billed=e.is_billed,
            created_at=o.created_at,
            updated_at=o.updated_at,
        )


OutcomeList = list_model("outcomes", OutcomeOut)


async def _filters(
    user_id: str | None = None,
    project_id: str | None = None,
    task_id: str | None = None,
    client_id: str | None = None,
    type: Annotated[str | None, Query(description="An outcome type, e.g. ticket_resolved")] = None,
    success: bool | None = None,
    source: Literal["web", "cli", "api", "agent"] | None = None,
    from_: Annotated[date | None, Query(alias="from", description="spent_date >= this")] = None,
    to: Annotated[date | None, Query(description="spent_date <= this")] = None,
    is_billed: bool | None = None,
    updated_since: AwareDatetime | None = None,
) -> OutcomeFilters:
    return OutcomeFilters(
        user_id=user_id,
        project_id=project_id,
        task_id=task_id,
        client_id=client_id,
        type=type,
        success=success,
        source=source,
        from_=from_,
        to=to,
        is_billed=is_billed,
        updated_since=updated_since,
    )


Filters = Annotated[OutcomeFilters, Depends(_filters)]


@router.get("/outcomes", response_model=OutcomeList, summary="List outcomes")
def list_outcomes(
    request: Request, session: Session, actor: CurrentActor, paging: Paging, filters: Filters
) -> ListEnvelope:
    page = outcomes.list_outcomes(
        session, actor, filters, page=paging.page, per_page=paging.per_page
    )
    items = [OutcomeOut.of(view) for view in page.items]
    return envelope(OutcomeList, "outcomes", page, items, request)


@router.post(
    "/outcomes",
    response_model=OutcomeOut,
    status_code=201,
    summary="Log an outcome (revenue = unit_price x quantity when success is true)",
)
def log_outcome(
    command: Annotated[OutcomeCreate, Body()], session: Session, actor: CurrentActor
) -> OutcomeOut:
    return OutcomeOut.of(outcomes.log_outcome(session, actor, command))


@router.get("/outcomes/{id}", response_model=OutcomeOut, summary="Get an outcome")
def get_outcome(id: str, session: Session, actor: CurrentActor) -> OutcomeOut:
    return OutcomeOut.of(outcomes.get_outcome(session, actor, id))
