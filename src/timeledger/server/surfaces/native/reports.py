"""/api/v2 reports (Harvest-style paths, which the Keito SDK uses), the agent summary, and
time-entry stats, search and export. Included before the time-entries router so that
/time_entries/stats|search|export are never read as an entry id."""

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ConfigDict, Field

from timeledger.server.core.crud import Page
from timeledger.server.reports import export, sql_text
from timeledger.server.reports import search as searching
from timeledger.server.reports import service as reports
from timeledger.server.reports.budget import Status as BudgetStatus
from timeledger.server.reports.schemas import ExportFormat, ReportQuery, SearchQuery
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.exporting import download
from timeledger.server.surfaces.native.time_entries import Filters as EntryFilters
from timeledger.server.surfaces.native.time_entries import TimeEntryList, TimeEntryOut
from timeledger.server.surfaces.native.wire import (
    Id,
    ListEnvelope,
    Number,
    Wire,
    envelope,
    full_name,
    list_model,
)

router = APIRouter()
TAG: list[str | Enum] = ["reports"]
ENTRY_TAG: list[str | Enum] = ["time entries"]


# --- query ------------------------------------------------------------------------------------


async def _query(
    from_: Annotated[
        str | None, Query(alias="from", description="First day, YYYY-MM-DD or YYYYMMDD")
    ] = None,
    to: Annotated[str | None, Query(description="Last day, YYYY-MM-DD or YYYYMMDD")] = None,
    user_id: str | None = None,
    project_id: str | None = None,
    client_id: str | None = None,
    task_id: str | None = None,
    expense_category_id: str | None = None,
    source: Literal["web", "cli", "api", "agent"] | None = None,
    is_billed: bool | None = None,
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"] | None = None,
) -> ReportQuery:
    return ReportQuery.model_validate(
        {
            "from": from_,
            "to": to,
            "user_id": user_id,
            "project_id": project_id,
            "client_id": client_id,
            "task_id": task_id,
            "expense_category_id": expense_category_id,
            "source": source,
            "is_billed": is_billed,
            "approval_status": approval_status,
        }
    )


Query_ = Annotated[ReportQuery, Depends(_query)]


# --- wire shapes ------------------------------------------------------------------------------


class TimeFigures(Wire):
    currency: str
    total_hours: Number
    billable_hours: Number
    billable_amount: Number
    cost_amount: Number
    entries: int
    outcomes: int
    successful_outcomes: int
    outcome_revenue: Number
    total_revenue: Number

    @staticmethod
    def values(row: reports.TimeRow) -> dict[str, Any]:
        return {
            "currency": row.currency,
            "total_hours": row.total_hours,
            "billable_hours": row.billable_hours,
            "billable_amount": row.billable_amount,
            "cost_amount": row.cost_amount,
            "entries": row.entries,
            "outcomes": row.outcomes,
            "successful_outcomes": row.successful_outcomes,
            "outcome_revenue": row.outcome_revenue,
            "total_revenue": row.total_revenue,
        }


class ClientTime(TimeFigures):
    client_id: Id | None
    client_name: str | None

    @classmethod
    def of(cls, row: reports.TimeRow) -> "ClientTime":
        return cls(client_id=row.id, client_name=row.name, **cls.values(row))


class ProjectTime(TimeFigures):
    project_id: Id
    project_name: str | None
    client_id: Id | None
    client_name: str | None

    @classmethod
    def of(cls, row: reports.TimeRow) -> "ProjectTime":
        return cls(
            project_id=row.id,
            project_name=row.name,
            client_id=row.client_id,
            client_name=row.client_name,
            **cls.values(row),
        )


class TaskTime(TimeFigures):
    task_id: Id
    task_name: str | None

    @classmethod
    def of(cls, row: reports.TimeRow) -> "TaskTime":
        return cls(task_id=row.id, task_name=row.name, **cls.values(row))


class TeamTime(TimeFigures):
    """Keito's TeamTimeResult, plus cost and outcomes."""

    user_id: Id
    user_name: str | None
    user_type: Literal["human", "agent"] | None
    is_contractor: bool
    weekly_capacity: int | None
    avatar_url: str | None = None

    @classmethod
    def of(cls, row: reports.TimeRow) -> "TeamTime":
        return cls(
            user_id=row.id,
            user_name=row.name,
            user_type=row.user_type,
            is_contractor=row.is_contractor,
            weekly_capacity=row.weekly_capacity,
            **cls.values(row),
        )


class ExpenseFigures(Wire):
    currency: str
    total_amount: Number
    billable_amount: Number
    expenses: int

    @staticmethod
    def values(row: reports.ExpenseRow) -> dict[str, Any]:
        return {
            "currency": row.currency,
            "total_amount": row.total_amount,
            "billable_amount": row.billable_amount,
            "expenses": row.expenses,
        }


class ClientExpenses(ExpenseFigures):
    client_id: Id | None
    client_name: str | None

    @classmethod
    def of(cls, row: reports.ExpenseRow) -> "ClientExpenses":
        return cls(client_id=row.id, client_name=row.name, **cls.values(row))


class ProjectExpenses(ExpenseFigures):
    project_id: Id
    project_name: str | None
    client_id: Id | None
    client_name: str | None

    @classmethod
    def of(cls, row: reports.ExpenseRow) -> "ProjectExpenses":
        return cls(
            project_id=row.id,
            project_name=row.name,
            client_id=row.client_id,
            client_name=row.client_name,
            **cls.values(row),
        )


class CategoryExpenses(ExpenseFigures):
    expense_category_id: Id
    expense_category_name: str | None

    @classmethod
    def of(cls, row: reports.ExpenseRow) -> "CategoryExpenses":
        return cls(expense_category_id=row.id, expense_category_name=row.name, **cls.values(row))


class TeamExpenses(ExpenseFigures):
    user_id: Id
    user_name: str | None
    user_type: Literal["human", "agent"] | None
    is_contractor: bool
    weekly_capacity: int | None

    @classmethod
    def of(cls, row: reports.ExpenseRow) -> "TeamExpenses":
        return cls(
            user_id=row.id,
            user_name=row.name,
            user_type=row.user_type,
            is_contractor=row.is_contractor,
            weekly_capacity=row.weekly_capacity,
            **cls.values(row),
        )


class Uninvoiced(Wire):
    client_id: Id | None
    client_name: str | None
    project_id: Id
    project_name: str
    currency: str
    total_hours: Number
    uninvoiced_hours: Number
    uninvoiced_time: Number
    uninvoiced_outcomes: Number
    uninvoiced_expenses: Number
    uninvoiced_amount: Number

    @classmethod
    def of(cls, row: reports.UninvoicedRow) -> "Uninvoiced":
        return cls(
            client_id=row.client_id,
            client_name=row.client_name,
            project_id=row.project_id,
            project_name=row.project_name,
            currency=row.currency,
            total_hours=row.total_hours,
            uninvoiced_hours=row.uninvoiced_hours,
            uninvoiced_time=row.uninvoiced_time,
            uninvoiced_outcomes=row.uninvoiced_outcomes,
            uninvoiced_expenses=row.uninvoiced_expenses,
            uninvoiced_amount=row.uninvoiced_amount,
        )


class ProjectBudget(Wire):
    project_id: Id
    project_name: str
    client_id: Id | None
    client_name: str | None
    is_active: bool
    budget_by: str
    budget_is_monthly: bool
    unit: Literal["hours", "money"]
    currency: str | None
    period: str
    budget: Number | None
    budget_spent: Number
    budget_remaining: Number | None
    percent_used: Number | None
    notify_when_over_budget: bool
    over_budget_notification_percentage: Number | None
    over_threshold: bool

    @classmethod
    def of(cls, status: BudgetStatus) -> "ProjectBudget":
        p = status.project
        return cls(
            project_id=p.id,
            project_name=p.name,
            client_id=p.client_id,
            client_name=p.client.name if p.client else None,
            is_active=p.is_active,
            budget_by=p.budget_by,
            budget_is_monthly=p.budget_is_monthly,
            unit=status.unit,
            currency=status.currency if status.unit == "money" else None,
            period=status.period,
            budget=status.budget,
            budget_spent=status.spent,
            budget_remaining=status.remaining,
            percent_used=status.percent_used,
            notify_when_over_budget=p.notify_when_over_budget,
            over_budget_notification_percentage=p.over_budget_notification_percentage,
            over_threshold=status.crossed,
        )


# --- routes: one list and one export per report ----------------------------------------------


def _report(
    path: str,
    name: str,
    out: type[Wire],
    render: Callable[[Any], Wire],
    fetch: Callable[..., Page[Any]],
    columns: list[tuple[str, str, Callable[[Any], Any]]],
) -> None:
    """GET /reports/<path> (a paged list under `results`) and GET /reports/<path>/export."""
    listing = list_model("results", out)

    @router.get(f"/reports/{path}", response_model=listing, tags=TAG, summary=name)
    def list_rows(
        request: Request, session: Session, actor: CurrentActor, paging: Paging, query: Query_
    ) -> ListEnvelope:
        page = fetch(session, actor, query, page=paging.page, per_page=paging.per_page)
        return envelope(listing, "results", page, [render(row) for row in page.items], request)

    @router.get(
        f"/reports/{path}/export",
        tags=TAG,
        summary=f"{name}: export (CSV, NDJSON or XLSX)",
        response_class=StreamingResponse,
    )
    def export_rows(
        request: Request,
        session: Session,
        actor: CurrentActor,
        query: Query_,
        format: ExportFormat = "csv",
    ) -> StreamingResponse:
        fetch(session, actor, query, page=1, per_page=1)  # a bad query fails here, as a 4xx

        def rendered(read: Any, page: int, per_page: int) -> Page[Wire]:
            rows = fetch(read, actor, query, page=page, per_page=per_page)
            return Page([render(row) for row in rows.items], rows.total, page, per_page)

        table = export.paged_table(path.replace("/", " "), columns, rendered)
        return download(request, table, format, "report-" + path.replace("/", "-"))


def _time_fetch(by: str) -> Callable[..., Page[reports.TimeRow]]:
    def fetch(
        session: Any, actor: Any, query: ReportQuery, *, page: int, per_page: int
    ) -> Page[reports.TimeRow]:
        return reports.time_report(session, actor, query, by, page=page, per_page=per_page)

    return fetch


def _expense_fetch(by: str) -> Callable[..., Page[reports.ExpenseRow]]:
    def fetch(
        session: Any, actor: Any, query: ReportQuery, *, page: int, per_page: int
    ) -> Page[reports.ExpenseRow]:
        return reports.expense_report(session, actor, query, by, page=page, per_page=per_page)

    return fetch


N, T = sql_text.NUMBER, sql_text.TEXT


def _cols(model: type[Wire]) -> list[tuple[str, str, Callable[[Any], Any]]]:
    """Export columns of a report: the wire model's fields, in order, read from a rendered
    row (numbers as exact text)."""
    columns = []
    for field_name, info in model.model_fields.items():
        if info.annotation is bool:
            kind = sql_text.BOOL
        elif "Decimal" in str(info.annotation) or info.annotation in (int, int | None):
            kind = N
        else:
            kind = T
        columns.append((field_name, kind, _cell(field_name, kind)))
    return columns


def _cell(field_name: str, kind: str) -> Callable[[Any], Any]:
    def read(row: Any) -> Any:
        value = getattr(row, field_name)
        if kind == N:
            return export.number(value)
        return export.flag(value) if kind == sql_text.BOOL else export.text(value)

    return read


_TIME_REPORTS: dict[str, tuple[str, type[Any]]] = {
    "clients": ("Time by client", ClientTime),
    "projects": ("Time by project", ProjectTime),
    "tasks": ("Time by task", TaskTime),
    "team": ("Time by team member (Keito's team report)", TeamTime),
}
for _by, (_name, _model) in _TIME_REPORTS.items():
    _report(f"time/{_by}", _name, _model, _model.of, _time_fetch(_by), _cols(_model))

_EXPENSE_REPORTS: dict[str, tuple[str, type[Any]]] = {
    "clients": ("Expenses by client", ClientExpenses),
    "projects": ("Expenses by project", ProjectExpenses),
    "categories": ("Expenses by category", CategoryExpenses),
    "team": ("Expenses by team member", TeamExpenses),
}
for _by, (_name, _model) in _EXPENSE_REPORTS.items():
    _report(f"expenses/{_by}", _name, _model, _model.of, _expense_fetch(_by), _cols(_model))

_report(
    "uninvoiced",
    "Billable time, outcomes and expenses not yet invoiced, per project",
    Uninvoiced,
    Uninvoiced.of,
    reports.uninvoiced,
    _cols(Uninvoiced),
)
_report(
    "project_budget",
    "Budget vs spent per project (hours or money)",
    ProjectBudget,
    ProjectBudget.of,
    reports.project_budgets,
    _cols(ProjectBudget),
)


# --- agent summary ----------------------------------------------------------------------------


class TimePart(Wire):
    total_hours: Number
    billable_hours: Number
    revenue: Number
    entries: int


class OutcomesPart(Wire):
    total: int
    successful: int
    revenue: Number


class CombinedPart(Wire):
    total_revenue: Number


class CostPart(Wire):
    model: Number
    expenses: Number
    labor: Number
    total: Number


class MarginPart(Wire):
    amount: Number
    percent: Number | None


class SummaryFigures(Wire):
    currency: str | None
    time: TimePart
    outcomes: OutcomesPart
    combined: CombinedPart
    cost: CostPart
    margin: MarginPart

    @staticmethod
    def values(s: reports.Summary) -> dict[str, Any]:
        return {
            "currency": s.currency,
            "time": TimePart(
                total_hours=s.total_hours,
                billable_hours=s.billable_hours,
                revenue=s.time_revenue,
                entries=s.entries,
            ),
            "outcomes": OutcomesPart(
                total=s.outcomes, successful=s.successful_outcomes, revenue=s.outcome_revenue
            ),
            "combined": CombinedPart(total_revenue=s.total_revenue),
            "cost": CostPart(
                model=s.model_cost, expenses=s.expense_cost, labor=s.labor_cost, total=s.total_cost
            ),
            "margin": MarginPart(amount=s.margin, percent=s.margin_percent),
        }


class AgentSummaryOut(SummaryFigures):
    user_id: Id
    user_name: str
    user_type: Literal["human", "agent"]
    from_: date = Field(alias="from")
    to: date
    by_currency: list[SummaryFigures]

    model_config = ConfigDict(populate_by_name=True, from_attributes=True)

    @classmethod
    def of(cls, summary: reports.AgentSummary) -> "AgentSummaryOut":
        user = summary.user
        return cls(
            user_id=user.id,
            user_name=full_name(user),
            user_type=user.user_type,
            from_=summary.from_,
            to=summary.to,
            by_currency=[SummaryFigures(**SummaryFigures.values(s)) for s in summary.by_currency],
            **SummaryFigures.values(summary.total),
        )


@router.get(
    "/reports/agent_summary",
    response_model=AgentSummaryOut,
    response_model_by_alias=True,
    tags=TAG,
    summary="What a user (agent or person) did, earned and cost over a range",
)
def agent_summary(session: Session, actor: CurrentActor, query: Query_) -> AgentSummaryOut:
    return AgentSummaryOut.of(reports.agent_summary(session, actor, query))


# --- time entries: stats, search, export ------------------------------------------------------


class StatsRowOut(Wire):
    key: str | None
    name: str | None
    currency: str
    count: int
    hours: Number
    rounded_hours: Number
    billable_hours: Number
    billable_amount: Number
    cost_amount: Number

    @classmethod
    def of(cls, row: reports.StatsRow) -> "StatsRowOut":
        key = row.key
        return cls(
            key=None if key is None else (key.isoformat() if isinstance(key, date) else str(key)),
            name=row.name,
            currency=row.currency,
            count=row.count,
            hours=row.hours,
            rounded_hours=row.rounded_hours,
            billable_hours=row.billable_hours,
            billable_amount=row.billable_amount,
            cost_amount=row.cost_amount,
        )


class StatsOut(Wire):
    group_by: str | None
    totals: list[StatsRowOut]
    results: list[StatsRowOut]


GroupBy = Literal["day", "week", "month", "user", "project", "task", "client", "source"]


@router.get(
    "/time_entries/stats",
    response_model=StatsOut,
    tags=ENTRY_TAG,
    summary="Totals of the listed entries, optionally grouped (days in the account's zone)",
)
def stats(
    session: Session,
    actor: CurrentActor,
    filters: EntryFilters,
    group_by: GroupBy | None = None,
) -> StatsOut:
    result = reports.entry_stats(session, actor, filters, group_by)
    return StatsOut(
        group_by=result.group_by,
        totals=[StatsRowOut.of(row) for row in result.totals],
        results=[StatsRowOut.of(row) for row in result.groups],
    )


@router.get(
    "/time_entries/search",
    response_model=TimeEntryList,
    tags=ENTRY_TAG,
    summary="Full-text search over notes and outcome descriptions, best matches first",
)
def search(
    request: Request,
    session: Session,
    actor: CurrentActor,
    paging: Paging,
    filters: EntryFilters,
    q: Annotated[str, Query(description="Words to find (all of them), 1-200 characters")] = "",
) -> ListEnvelope:
    text = SearchQuery(q=q).q
    page = searching.search_entries(
        session, actor, text, filters, page=paging.page, per_page=paging.per_page
    )
    items = [TimeEntryOut.of(view) for view in page.items]
    return envelope(TimeEntryList, "time_entries", page, items, request)


@router.get(
    "/time_entries/export",
    tags=ENTRY_TAG,
    summary="Export time entries (CSV, NDJSON or XLSX), filters as for the list",
    response_class=StreamingResponse,
)
def export_entries(
    request: Request,
    session: Session,
    actor: CurrentActor,
    filters: EntryFilters,
    format: ExportFormat = "csv",
) -> StreamingResponse:
    return download(request, export.time_entries(session, actor, filters), format, "time_entries")
