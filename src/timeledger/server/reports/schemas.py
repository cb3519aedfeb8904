"""Commands of reports: a date range (Keito's `YYYYMMDD` or `YYYY-MM-DD`) and the filters the
lists have, translated to each source's filters."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, model_validator

from timeledger.server.core.errors import ValidationFailed
from timeledger.server.core.fields import Command, trimmed
from timeledger.server.expenses.schemas import ExpenseFilters
from timeledger.server.tracking.schemas import ApprovalStatus, EntryFilters, Source

MAX_RANGE_YEARS = 10
MAX_RANGE_DAYS = 3653  # ten years, leap days included
SEARCH_MAX_LENGTH = 200

GroupBy = Literal["day", "week", "month", "user", "project", "task", "client", "source"]
TimeReport = Literal["clients", "projects", "tasks", "team"]
ExpenseReport = Literal["clients", "projects", "categories", "team"]
ExportFormat = Literal["csv", "ndjson", "xlsx"]

_COMPACT = re.compile(r"\d{8}")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _report_date(value: Any) -> Any:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _COMPACT.fullmatch(text):
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        if _ISO.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{value!r} is not a real date") from None
    raise ValueError("must be a date written YYYY-MM-DD or YYYYMMDD")


ReportDate = Annotated[date, BeforeValidator(_report_date)]


def check_range(from_: date | None, to: date | None) -> None:
    """from must not be after to, and a range spans at most ten years."""
    if from_ is None or to is None:
        return
    if from_ > to:
        raise ValidationFailed("from must not be after to", field="from")
    if (to - from_).days >= MAX_RANGE_DAYS:
        raise ValidationFailed(
            f"from..to may span at most {MAX_RANGE_YEARS} years; narrow the range", field="to"
        )


class Range(Command):
    """from..to, both days included; at most ten years."""

    from_: ReportDate | None = Field(default=None, alias="from")
    to: ReportDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        check_range(self.from_, self.to)
        return self


class ReportQuery(Range):
    """A report's range and filters. Filters a source does not have (task_id for expenses,
    expense_category_id for time) leave that source out of the report."""

    user_id: str | None = None
    project_id: str | None = None
    client_id: str | None = None
    task_id: str | None = None
    expense_category_id: str | None = None
    source: Source | None = None
    is_billed: bool | None = None
    approval_status: ApprovalStatus | None = None

    def entries(self) -> EntryFilters | None:
        if self.expense_category_id is not None:
            return None
        return EntryFilters(
            user_id=self.user_id,
            project_id=self.project_id,
            task_id=self.task_id,
            client_id=self.client_id,
            source=self.source,
            from_=self.from_,
            to=self.to,
            is_billed=self.is_billed,
            approval_status=self.approval_status,
        )

    def expenses(self) -> ExpenseFilters | None:
        if self.task_id is not None:
            return None
        return ExpenseFilters(
            user_id=self.user_id,
            project_id=self.project_id,
            client_id=self.client_id,
            expense_category_id=self.expense_category_id,
            source=self.source,
            from_=self.from_,
            to=self.to,
            is_billed=self.is_billed,
            approval_status=self.approval_status,
        )

    def require_range(self) -> Self:
        """Time and expense reports need both ends (Keito's team report does)."""
        for name, value in (("from", self.from_), ("to", self.to)):
            if value is None:
                raise ValidationFailed(f"{name} is required (YYYY-MM-DD or YYYYMMDD)", field=name)
        return self


SearchText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SEARCH_MAX_LENGTH),
    AfterValidator(trimmed),
]


class SearchQuery(Command):
    q: SearchText
