"""Commands of time tracking."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from timeledger.server.core.fields import Command, LongText, Name, omitted
from timeledger.server.tracking.timing import parse_hhmm

Source = Literal["web", "cli", "api", "agent"]
ApprovalStatus = Literal["unsubmitted", "submitted", "approved", "rejected"]
METADATA_MAX_BYTES = 4096
BULK_MAX_ITEMS = 500


def metadata_size(value: dict[str, Any]) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _metadata_limit(value: dict[str, Any]) -> dict[str, Any]:
    if metadata_size(value) > METADATA_MAX_BYTES:
        raise ValueError(f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
    return value


def _clock(value: str) -> str:
    return parse_hhmm(value).strftime("%H:%M")


Metadata = Annotated[dict[str, Any], AfterValidator(_metadata_limit)]
# Any JSON object; the limit on the merged result is checked by the service on update.
MetadataPatch = dict[str, Any]
Clock = Annotated[str, StringConstraints(max_length=5), AfterValidator(_clock)]
Hours = Annotated[Decimal, Field(ge=0, le=24)]


def _iso_date(value: Any) -> Any:
    """Only "YYYY-MM-DD" (or a date): pydantic would also read 20260101 as a timestamp."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a real date") from None
    raise ValueError("must be a date written YYYY-MM-DD")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SpentDate = Annotated[date, BeforeValidator(_iso_date)]
RefText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class ExternalReference(Command):
    """A work item in another system this time is for, e.g. {"type": "ticket", "id": "tk_9"}."""

    type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    id: RefText


class TimeEntryCreate(Command):
    project_id: str
    task_id: str
    spent_date: SpentDate
    user_id: str | None = None
    hours: Hours | None = None
    is_running: bool = False
    started_time: Clock | None = None
    ended_time: Clock | None = None
    notes: LongText | None = None
    billable: bool | None = None
    source: Source = "api"
    metadata: Metadata | None = None
    external_reference: ExternalReference | None = None
    replace_running: bool = False


class TimeEntryUpdate(Command):
    project_id: str = omitted()
    task_id: str = omitted()
    spent_date: SpentDate = omitted()
    user_id: str = omitted()
    hours: Hours = omitted()
    started_time: Clock | None = None
    ended_time: Clock | None = None
    notes: LongText | None = None
    billable: bool = omitted()
    metadata: MetadataPatch | None = None
    external_reference: ExternalReference | None = None
    # Immutable after creation; accepted here only to answer a clear 400 naming it.
    source: str | None = None


class StopTimer(Command):
    notes: LongText | None = None


class RestartTimer(Command):
    replace_running: bool = False


class Selection(Command):
    """Which entries an approval action applies to: explicit ids, or a user's date range."""

    ids: list[str] | None = Field(default=None, max_length=BULK_MAX_ITEMS)
    user_id: str | None = None
    from_: SpentDate | None = Field(default=None, alias="from")
    to: SpentDate | None = None


class ChangeRequest(Selection):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class TemplateCreate(Command):
    name: Name
    project_id: str
    task_id: str
    notes: LongText | None = None
    hours: Hours | None = None
    billable: bool | None = None
    metadata: Metadata | None = None


class TemplateUpdate(Command):
    name: Name = omitted()
    project_id: str = omitted()
    task_id: str = omitted()
    notes: LongText | None = None
    hours: Hours | None = None
    billable: bool | None = None
    metadata: Metadata | None = None


class FromTemplate(Command):
    spent_date: SpentDate
    user_id: str | None = None
    hours: Hours | None = None
    notes: LongText | None = None
    is_running: bool = False
    started_time: Clock | None = None
    source: Source = "api"
    replace_running: bool = False


class BulkUpdateItem(TimeEntryUpdate):
    id: str


class EntryFilters(Command):
    """List filters; every one optional."""

    user_id: str | None = None
    project_id: str | None = None
    task_id: str | None = None
    client_id: str | None = None
    source: Source | None = None
    from_: date | None = None
    to: date | None = None
    is_billed: bool | None = None
    is_running: bool | None = None
    approval_status: ApprovalStatus | None = None
    external_reference: str | None = None  # "type:id"
    updated_since: Any = None
