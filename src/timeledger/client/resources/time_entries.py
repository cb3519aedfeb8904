"""Time entries (with approvals, bulk writes, stats, search and export), timers, templates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Required, TypedDict, Unpack

from timeledger.client._http import Call
from timeledger.client.models import (
    Deleted,
    Source,
    TimeEntry,
    TimeEntryStats,
    TimeEntryTemplate,
)
from timeledger.client.pagination import Listing
from timeledger.client.resources._base import (
    IO,
    Approvable,
    Collection,
    Resource,
    download,
    fetch,
    fetch_many,
    listing,
    operation,
    renamed,
    send,
)

Hours = Decimal | float | int | str
Day = date | str
ExportFormat = Literal["csv", "ndjson", "xlsx"]
GroupBy = Literal["day", "week", "month", "user", "project", "task", "client", "source"]
Progress = Callable[[int, int | None], None]
PATH = "/time_entries"


class ExternalReference(TypedDict):
    type: str
    id: str


class EntryFilters(TypedDict, total=False):
    user_id: str
    project_id: str
    task_id: str
    client_id: str
    source: Source
    from_date: Day
    to_date: Day
    is_billed: bool
    is_running: bool
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"]
    external_reference: str  # "type:id"
    updated_since: datetime


class _EntryFields(TypedDict, total=False):
    user_id: str | None
    hours: Hours | None
    started_time: str | None
    ended_time: str | None
    notes: str | None
    billable: bool | None
    metadata: Mapping[str, Any] | None
    external_reference: ExternalReference | None


class TimeEntryCreate(_EntryFields, total=False):
    project_id: Required[str]
    task_id: Required[str]
    spent_date: Required[Day]
    is_running: bool
    source: Source
    replace_running: bool


class TimeEntryUpdate(_EntryFields, total=False):
    """Metadata merges key by key; None clears it."""

    project_id: str
    task_id: str
    spent_date: Day


class TimeEntryChange(TimeEntryUpdate, total=False):
    id: Required[str]


class Bulk(Resource[IO]):
    """Up to 500 entries in one request, all or nothing."""

    @operation
    def create(self, entries: Sequence[TimeEntryCreate]) -> Call[list[TimeEntry]]:
        body = {"time_entries": list(entries)}
        return (yield from fetch_many(TimeEntry, "time_entries", "POST", PATH + "/bulk", json=body))

    @operation
    def update(self, changes: Sequence[TimeEntryChange]) -> Call[list[TimeEntry]]:
        """Each change names its entry by `id`."""
        body = {"time_entries": list(changes)}
        return (
            yield from fetch_many(TimeEntry, "time_entries", "PATCH", PATH + "/bulk", json=body)
        )

    @operation
    def delete(self, ids: Sequence[str]) -> Call[list[str]]:
        """The ids deleted."""
        answer = yield from send("DELETE", PATH + "/bulk", json={"ids": list(ids)})
        deleted: list[str] = answer["ids"]
        return deleted


class TimeEntries(Approvable[IO, TimeEntry]):
    path, key, model = PATH, "time_entries", TimeEntry

    def __init__(self, io: IO) -> None:
        super().__init__(io)
        self.bulk = Bulk(io)

    @listing
    def list(
        self, *, per_page: int | None = None, **filters: Unpack[EntryFilters]
    ) -> Listing[TimeEntry]:
        """Entries the caller may see (members: their own)."""
        return self._listing(per_page=per_page, **renamed(filters))

    @listing
    def search(
        self, q: str, *, per_page: int | None = None, **filters: Unpack[EntryFilters]
    ) -> Listing[TimeEntry]:
        """Full-text search over notes and outcome descriptions, best matches first."""
        params = {"q": q, "per_page": per_page, **renamed(filters)}
        return Listing(f"{PATH}/search", self.key, TimeEntry.from_wire, params)

    @operation
    def stats(
        self, *, group_by: GroupBy | None = None, **filters: Unpack[EntryFilters]
    ) -> Call[TimeEntryStats]:
        """Totals of the entries the filters select, optionally grouped."""
        params = {"group_by": group_by, **renamed(filters)}
        return (yield from fetch(TimeEntryStats, "GET", f"{PATH}/stats", params=params))

    @operation
    def export(
        self,
        *,
        format: ExportFormat = "csv",
        progress: Progress | None = None,
        **filters: Unpack[EntryFilters],
    ) -> Call[bytes]:
        """The selected entries as a CSV, NDJSON or XLSX file."""
        params = {"format": format, **renamed(filters)}
        return (yield from download(f"{PATH}/export", params, progress))

    @operation
    def create(self, **fields: Unpack[TimeEntryCreate]) -> Call[TimeEntry]:
        """Log time (`hours`, or `started_time`/`ended_time`), or start a timer with
        `is_running=True`."""
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[TimeEntryUpdate]) -> Call[TimeEntry]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[None]:
        """Delete an entry (not approved, billed or locked ones)."""
        yield from send("DELETE", f"{PATH}/{id}")

    @operation
    def stop(self, id: str, *, notes: str | None = None) -> Call[TimeEntry]:
        """Stop a running timer; the server measures the elapsed time."""
        body = {"notes": notes} if notes is not None else {}
        return (yield from fetch(TimeEntry, "PATCH", f"{PATH}/{id}/stop", json=body))

    @operation
    def restart(self, id: str, *, replace_running: bool = False) -> Call[TimeEntry]:
        """Resume a stopped entry as the running timer (`replace_running` stops another)."""
        body = {"replace_running": replace_running}
        return (yield from fetch(TimeEntry, "PATCH", f"{PATH}/{id}/restart", json=body))

    @operation
    def from_template(
        self,
        template_id: str,
        *,
        spent_date: Day,
        hours: Hours | None = None,
        notes: str | None = None,
        is_running: bool = False,
        started_time: str | None = None,
        user_id: str | None = None,
        source: Source = "api",
        replace_running: bool = False,
    ) -> Call[TimeEntry]:
        body = {
            "spent_date": spent_date,
            "hours": hours,
            "notes": notes,
            "is_running": is_running,
            "started_time": started_time,
            "user_id": user_id,
            "source": source,
            "replace_running": replace_running,
        }
        body = {key: value for key, value in body.items() if value is not None}
        path = f"{PATH}/from_template/{template_id}"
        return (yield from fetch(TimeEntry, "POST", path, json=body))


class Timers(Resource[IO]):
    """The caller's running timer (at most one per user)."""

    def _start(
        self,
        project_id: str,
        task_id: str,
        *,
        notes: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        billable: bool | None = None,
        external_reference: ExternalReference | None = None,
        spent_date: Day | None = None,
        source: Source = "api",
        replace_running: bool = False,
    ) -> Call[TimeEntry]:
        """Start a timer now (on today in the account's time zone, unless `spent_date`);
        with `replace_running`, a timer already running is stopped first, else ConflictError."""
        body = {
            "project_id": project_id,
            "task_id": task_id,
            "spent_date": spent_date or (yield from self._today()),
            "is_running": True,
            "notes": notes,
            "metadata": None if metadata is None else dict(metadata),
            "billable": billable,
            "external_reference": external_reference,
            "source": source,
            "replace_running": replace_running,
        }
        body = {key: value for key, value in body.items() if value is not None}
        return (yield from fetch(TimeEntry, "POST", PATH, json=body))

    start = operation(_start)

    def _current(self) -> Call[TimeEntry | None]:
        user_id = yield from self._my_user_id()
        params = {"is_running": True, "user_id": user_id, "per_page": 1}
        page = yield from send("GET", PATH, params=params)
        rows = page.get("time_entries") or []
        return TimeEntry.from_wire(rows[0]) if rows else None

    @operation
    def current(self) -> Call[TimeEntry | None]:
        """The caller's running timer, or None."""
        return (yield from self._current())

    @operation
    def stop(self, *, notes: str | None = None) -> Call[TimeEntry | None]:
        """Stop the caller's running timer: the stopped entry, or None if none was running."""
        running = yield from self._current()
        if running is None:
            return None
        body = {"notes": notes} if notes is not None else {}
        return (yield from fetch(TimeEntry, "PATCH", f"{PATH}/{running.id}/stop", json=body))


class _TemplateFields(TypedDict, total=False):
    notes: str | None
    hours: Hours | None
    billable: bool | None
    metadata: Mapping[str, Any] | None


class TemplateCreate(_TemplateFields, total=False):
    name: Required[str]
    project_id: Required[str]
    task_id: Required[str]


class TemplateUpdate(_TemplateFields, total=False):
    name: str
    project_id: str
    task_id: str


class TimeEntryTemplates(Collection[IO, TimeEntryTemplate]):
    path, key, model = "/time_entry_templates", "time_entry_templates", TimeEntryTemplate

    @listing
    def list(self, *, per_page: int | None = None) -> Listing[TimeEntryTemplate]:
        return self._listing(per_page=per_page)

    @operation
    def create(self, **fields: Unpack[TemplateCreate]) -> Call[TimeEntryTemplate]:
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[TemplateUpdate]) -> Call[TimeEntryTemplate]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[Deleted]:
        return (yield from self._delete(id))
