"""Reports: time and expenses by client, project, task or person; uninvoiced work; project
budgets; the agent summary. Ranges are `from_date`..`to_date`, both days included."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, TypedDict, TypeVar, Unpack

from timeledger.client._http import Call
from timeledger.client._model import Model
from timeledger.client.models import (
    AgentSummary,
    ExpenseReportRow,
    ProjectBudget,
    Source,
    TimeReportRow,
    UninvoicedRow,
)
from timeledger.client.pagination import Listing
from timeledger.client.resources._base import IO, Resource, download, fetch, listing, operation
from timeledger.client.resources.time_entries import ExportFormat, Progress

Day = date | str
TimeBy = Literal["clients", "projects", "tasks", "team"]
ExpensesBy = Literal["clients", "projects", "categories", "team"]
Report = Literal[
    "time/clients",
    "time/projects",
    "time/tasks",
    "time/team",
    "expenses/clients",
    "expenses/projects",
    "expenses/categories",
    "expenses/team",
    "uninvoiced",
    "project_budget",
]
R = TypeVar("R", bound=Model)


class ReportFilters(TypedDict, total=False):
    user_id: str
    project_id: str
    client_id: str
    task_id: str
    expense_category_id: str
    source: Source
    is_billed: bool
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"]


def _rows(
    report: str,
    row: type[R],
    from_date: Day | None,
    to_date: Day | None,
    per_page: int | None,
    filters: ReportFilters,
) -> Listing[R]:
    params: dict[str, Any] = {"from": from_date, "to": to_date, "per_page": per_page, **filters}
    return Listing(f"/reports/{report}", "results", row.from_wire, params)


class Reports(Resource[IO]):
    @listing
    def team_time(
        self,
        from_date: Day,
        to_date: Day,
        *,
        per_page: int | None = None,
        **filters: Unpack[ReportFilters],
    ) -> Listing[TimeReportRow]:
        """Time per team member (Keito's team report), plus cost and outcomes."""
        return _rows("time/team", TimeReportRow, from_date, to_date, per_page, filters)

    @listing
    def time(
        self,
        by: TimeBy,
        from_date: Day,
        to_date: Day,
        *,
        per_page: int | None = None,
        **filters: Unpack[ReportFilters],
    ) -> Listing[TimeReportRow]:
        """Time by client, project, task or team member, per currency."""
        return _rows(f"time/{by}", TimeReportRow, from_date, to_date, per_page, filters)

    @listing
    def expenses(
        self,
        by: ExpensesBy,
        from_date: Day,
        to_date: Day,
        *,
        per_page: int | None = None,
        **filters: Unpack[ReportFilters],
    ) -> Listing[ExpenseReportRow]:
        return _rows(f"expenses/{by}", ExpenseReportRow, from_date, to_date, per_page, filters)

    @listing
    def uninvoiced(
        self,
        from_date: Day | None = None,
        to_date: Day | None = None,
        *,
        per_page: int | None = None,
        **filters: Unpack[ReportFilters],
    ) -> Listing[UninvoicedRow]:
        """Billable time, outcomes and expenses not yet invoiced, per project."""
        return _rows("uninvoiced", UninvoicedRow, from_date, to_date, per_page, filters)

    @listing
    def project_budget(
        self,
        from_date: Day | None = None,
        to_date: Day | None = None,
        *,
        per_page: int | None = None,
        **filters: Unpack[ReportFilters],
    ) -> Listing[ProjectBudget]:
        """Budget against spent per project, in hours or money."""
        return _rows("project_budget", ProjectBudget, from_date, to_date, per_page, filters)

    @operation
    def agent_summary(
        self,
        from_date: Day,
        to_date: Day,
        **filters: Unpack[ReportFilters],
    ) -> Call[AgentSummary]:
        """What one user (`user_id`, default the caller) did, earned and cost over the
        range."""
        params = {"from": from_date, "to": to_date, **filters}
        return (yield from fetch(AgentSummary, "GET", "/reports/agent_summary", params=params))

    @operation
    def export(
        self,
        report: Report,
        from_date: Day | None = None,
        to_date: Day | None = None,
        *,
        format: ExportFormat = "csv",
        progress: Progress | None = None,
        **filters: Unpack[ReportFilters],
    ) -> Call[bytes]:
        """A report as a CSV, NDJSON or XLSX file."""
        params = {"from": from_date, "to": to_date, "format": format, **filters}
        return (yield from download(f"/reports/{report}/export", params, progress))
