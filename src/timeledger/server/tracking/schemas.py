"""Commands of time tracking."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from timeledger.server.core.fields import (
    AwareDatetime,
    Command,
    LongText,
    Name,
    omitted,
    trimmed,
)
from timeledger.server.tracking.timing import parse_hhmm

Source = Literal["web", "cli", "api", "agent"]
# How a timer was started, as Temporal.ist's clients say it.
StartedVia = Literal[
    "manual",
    "client-file",
    "client-manual",
    "browser-url",
    "browser-manual",
    "cli-tui",
    "cli-watch",
    "api",
]
# What an entry's source implies when its client did not say how it was started.
STARTED_VIA_OF_SOURCE: dict[str, StartedVia] = {
    "web": "manual",
    "cli": "cli-tui",
    "api": "api",
    "agent": "api",
}


def how_started(started_via: str | None, source: str) -> str:
    """How a timer was started: as its client said, else what its source implies."""
    return started_via or STARTED_VIA_OF_SOURCE.get(source, "api")


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
BillableSeconds = Annotated[int, Field(ge=0, le=24 * 3600)]


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
RefText = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(trimmed)]


class ExternalReference(Command):
    """A work item in another system this time is for, e.g. {"type": "ticket", "id": "tk_9"}."""

    type: Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(trimmed)]
    id: RefText


class TimeEntryCreate(Command):
    # Required on the native API. On the compatibility surfaces, without project_id the
    # project whose code is the external reference's type; without task_id the project's
    # only (or only default) task. See service.resolve_target.
    project_id: str | None = None
    task_id: str | None = None
    # Required unless started_at gives it, or the entry is a timer starting today.
    spent_date: SpentDate | None = None
    user_id: str | None = None
    hours: Hours | None = None
    is_running: bool = False
    started_time: Clock | None = None
    ended_time: Clock | None = None
    # Instants, for callers that know them (the compatibility surfaces): instead of
    # spent_date + started_time/ended_time, never together with the clock times.
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    # Time to bill when it is less than the duration (AlgaPSA's billable_minutes).
    billable_seconds: BillableSeconds | None = None
    notes: LongText | None = None
    billable: bool | None = None
    source: Source = "api"
    started_via: StartedVia | None = None
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
    started_at: AwareDatetime = omitted()
    ended_at: AwareDatetime = omitted()
    billable_seconds: BillableSeconds | None = None
    notes: LongText | None = None
    billable: bool = omitted()
    metadata: MetadataPatch | None = None
    external_reference: ExternalReference | None = None
    # Immutable after creation; accepted here only to answer a clear 400 naming it.
    source: str | None = None


class StopTimer(Command):
    notes: LongText | None = None
    # When the work ended, if not now: not before the timer started, not in the future.
    ended_at: AwareDatetime | None = None


class RestartTimer(Command):
    replace_running: bool = False


class Selection(Command):
    """Which entries an approval action applies to: explicit ids, or a user's date range."""

    ids: list[str] | None = Field(default=None, max_length=BULK_MAX_ITEMS)
    user_id: str | None = None
    from_: SpentDate | None = Field(default=None, alias="from")
    to: SpentDate | None = None


class ChangeRequest(Selection):
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=5000), AfterValidator(trimmed)
    ]


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
