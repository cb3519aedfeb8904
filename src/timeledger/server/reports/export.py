"""Exports: time entries, expenses and every report as CSV, NDJSON or XLSX, streamed with
constant memory. One header row of stable column names (the `*_COLUMNS` tuples below);
dates and times in the account's zone; numbers as exact decimal text (XLSX: numbers).

An export is planned inside the request (filters checked, so a bad one is a 4xx before any
byte is sent) and run by the response in a read transaction of its own, reading rows from
a server-side cursor (PostgreSQL) or SQLite's own cursor in batches; XLSX goes through
XlsxWriter's constant-memory mode into a temporary file that is then streamed."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter  # type: ignore[import-untyped]
from sqlalchemy import ColumnElement, Integer, Select, String, cast, func, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from timeledger.server.accounts.models import User
from timeledger.server.catalog.models import Client, Project, Task
from timeledger.server.core.actor import Actor
from timeledger.server.core.money import AMOUNT_SCALE, UNIT_PRICE_SCALE, minor_units
from timeledger.server.expenses import service as expenses
from timeledger.server.expenses.models import Expense, ExpenseCategory
from timeledger.server.expenses.schemas import ExpenseFilters
from timeledger.server.reports.sql import Figures, constant, raw
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.models import TimeEntry
from timeledger.server.tracking.schemas import EntryFilters
from timeledger.server.tracking.timing import round_seconds

BATCH = 2_000
FLUSH_BYTES = 256 * 1024
XLSX_MAX_ROWS = 1_048_576  # per sheet, the header included

# Column kinds: how each format writes a value.
TEXT, NUMBER, BOOL, JSON = "text", "number", "bool", "json"

Cell = str | None  # booleans as "true"/"false", numbers and JSON as their text
Row = Sequence[Cell]
OpenSession = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Table:
    """What an export writes: column names and kinds, and, given a read session, the rows
    (numbers already as decimal text, JSON as JSON text)."""

    name: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: Callable[[Session], Iterable[Row]]


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def stream(open_session: OpenSession, table: Table, fmt: str) -> Iterator[bytes]:
    """The export's bytes, produced while a read transaction of its own is open."""
    writer = {"csv": _csv, "ndjson": _ndjson, "xlsx": _xlsx}[fmt]
    with open_session() as session:
        yield from writer(table, table.rows(session))


# --- formats ----------------------------------------------------------------------------------


def _csv(table: Table, rows: Iterable[Row]) -> Iterator[bytes]:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(table.columns)
    for row in rows:
        out.writerow(row)
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _ndjson(table: Table, rows: Iterable[Row]) -> Iterator[bytes]:
    keys = [json.dumps(name) + ":" for name in table.columns]
    plain = {NUMBER, JSON, BOOL}  # already JSON text
    lines: list[str] = []
    size = 0
    dumps = json.dumps
    for row in rows:
        parts = []
        for key, kind, value in zip(keys, table.kinds, row, strict=True):
            if value is None:
                parts.append(key + "null")
            elif kind in plain:
                parts.append(key + str(value))
            else:
                parts.append(key + dumps(value, ensure_ascii=False))
        line = "{" + ",".join(parts) + "}\n"
        lines.append(line)
        size += len(line)
        if size >= FLUSH_BYTES:
            yield "".join(lines).encode()
            lines, size = [], 0
    yield "".join(lines).encode()


def _xlsx(table: Table, rows: Iterable[Row]) -> Iterator[bytes]:
    handle, path = tempfile.mkstemp(prefix="timeledger-export-", suffix=".xlsx")
    os.close(handle)
    try:
        book = xlsxwriter.Workbook(
            path, {"constant_memory": True, "strings_to_numbers": False, "in_memory": False}
        )
        numbers = [i for i, kind in enumerate(table.kinds) if kind == NUMBER]
        bools = [i for i, kind in enumerate(table.kinds) if kind == BOOL]
        sheet, line, sheets = None, XLSX_MAX_ROWS, 0
        for row in rows:
            if line >= XLSX_MAX_ROWS:  # a sheet is full: go on in the next one
                sheets += 1
                sheet = book.add_worksheet(table.name if sheets == 1 else f"{table.name} {sheets}")
                sheet.write_row(0, 0, table.columns)
                line = 1
            values: list[Any] = list(row)
            for i in numbers:
                if values[i] is not None:
                    values[i] = float(str(values[i]))
            for i in bools:
                if values[i] is not None:
                    values[i] = values[i] == "true"
            assert sheet is not None
            sheet.write_row(line, 0, values)
            line += 1
        if sheet is None:
            sheet = book.add_worksheet(table.name)
            sheet.write_row(0, 0, table.columns)
        book.close()
        with open(path, "rb") as made:
            while chunk := made.read(FLUSH_BYTES):
                yield chunk
    finally:
        os.unlink(path)


# --- values -----------------------------------------------------------------------------------


class id_text(FunctionElement[str]):  # noqa: N801 (a SQL function)
    """A Uuid column as its canonical text, 8-4-4-4-12."""

    type = String()
    inherit_cache = True


@compiles(id_text, "sqlite")
def _id_text_sqlite(element: id_text, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(next(iter(element.clauses)), **kw)
    parts = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    return " || '-' || ".join(f"substr({arg}, {start}, {length})" for start, length in parts)


@compiles(id_text, "postgresql")
def _id_text_postgresql(element: id_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(next(iter(element.clauses)), **kw)} AS TEXT)"


def json_text(column: Any) -> ColumnElement[str]:
    """A JSON column as its JSON text, without parsing it in Python."""
    return cast(column, String)


def utc_text(column: Any) -> ColumnElement[Any]:
    """A UTCDateTime column as the driver returns it (SQLite: text, PostgreSQL: datetime)."""
    return type_coerce(column, String)


def scaled(value: int | None, scale: int, places: int | None = None) -> str | None:
    """A scaled integer as decimal text: `places` decimals, or as few as it needs."""
    if value is None:
        return None
    value = int(value)
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**scale)
    digits = f"{frac:0{scale}d}" if scale else ""
    digits = digits.rstrip("0") if places is None else digits[:places]
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def hours_text(seconds: int) -> str:
    """Seconds as hours to 4 places, half-up (tracking.timing.seconds_to_hours)."""
    q = (int(seconds) * 20000 + 3600) // 7200
    return f"{q // 10000}.{q % 10000:04d}"


def money_text(value: int, places: int) -> str:
    """A non-negative amount in minor units with exactly `places` decimals."""
    if places == 2:
        return f"{value // 100}.{value % 100:02d}"
    return scaled(value, places, places) or "0"


class Memo(dict[Any, Any]):
    """Decimal text of scaled values that repeat (rates), worked out once each."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def __missing__(self, value: Any) -> str | None:
        text = scaled(value, self.scale)
        self[value] = text
        return text


class Clock:
    """UTC instants as ISO 8601 (and HH:mm) in the account's zone. The offset of each UTC
    hour is worked out once; an hour in which the offset changes is converted value by
    value. Values come as the driver gives them: SQLite text, PostgreSQL datetimes."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._hours: dict[Any, tuple[timedelta, str] | None] = {}

    @staticmethod
    def instant(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def _offset(self, naive_utc: datetime) -> tuple[timedelta, str] | None:
        hour = naive_utc.replace(minute=0, second=0, microsecond=0)
        if hour not in self._hours:
            start = hour.replace(tzinfo=UTC)
            first = start.astimezone(self.zone).utcoffset()
            last = (start + timedelta(minutes=59, seconds=59)).astimezone(self.zone).utcoffset()
            if first is None or first != last:
                self._hours[hour] = None
            else:
                suffix = datetime(2000, 1, 1, tzinfo=timezone(first)).isoformat()[19:]
                self._hours[hour] = (first, suffix)
        return self._hours[hour]

    def _local(self, value: Any) -> tuple[datetime, str] | datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            naive = datetime.fromisoformat(value)
        else:
            naive = value.astimezone(UTC).replace(tzinfo=None)
        known = self._offset(naive)
        if known is None:
            return naive.replace(tzinfo=UTC).astimezone(self.zone)
        return naive + known[0], known[1]

    def iso(self, value: Any) -> str | None:
        local = self._local(value)
        if local is None or isinstance(local, datetime):
            return None if local is None else local.isoformat()
        return local[0].isoformat() + local[1]

    def hhmm(self, value: Any) -> str | None:
        local = self._local(value)
        if local is None:
            return None
        moment = local if isinstance(local, datetime) else local[0]
        return f"{moment.hour:02d}:{moment.minute:02d}"


def flag(value: Any) -> str:
    return "true" if value else "false"


def _name(first: str | None, last: str | None, email: str | None) -> str:
    return " ".join(part for part in (first, last) if part) or (email or "")


# --- time entries -----------------------------------------------------------------------------

ENTRY_COLUMNS = (
    ("id", TEXT),
    ("spent_date", TEXT),
    ("user_id", TEXT),
    ("user_name", TEXT),
    ("client_id", TEXT),
    ("client_name", TEXT),
    ("project_id", TEXT),
    ("project_name", TEXT),
    ("project_code", TEXT),
    ("task_id", TEXT),
    ("task_name", TEXT),
    ("notes", TEXT),
    ("hours", NUMBER),
    ("rounded_hours", NUMBER),
    ("started_time", TEXT),
    ("ended_time", TEXT),
    ("is_running", BOOL),
    ("billable", BOOL),
    ("billable_rate", NUMBER),
    ("billable_amount", NUMBER),
    ("cost_rate", NUMBER),
    ("cost_amount", NUMBER),
    ("currency", TEXT),
    ("source", TEXT),
    ("approval_status", TEXT),
    ("is_locked", BOOL),
    ("is_billed", BOOL),
    ("external_reference_type", TEXT),
    ("external_reference_id", TEXT),
    ("metadata", JSON),
    ("created_at", TEXT),
    ("updated_at", TEXT),
)


@dataclass(frozen=True)
class Catalogue:
    """Display values of an account's users, projects (with client and currency) and tasks,
    read once per export so rows need no joins; bounded by the catalogue, not the export."""

    users: dict[Any, tuple[str, str]]  # raw id -> (id text, name)
    projects: dict[Any, tuple[str, str, str | None, str | None, str | None, str]]
    tasks: dict[Any, tuple[str, str]]

    @classmethod
    def of(cls, session: Session, account: Any) -> Catalogue:
        def raw_id(column: Any) -> ColumnElement[Any]:
            return type_coerce(column, String)

        users = {
            row[0]: (row[1], _name(row[2], row[3], row[4]))
            for row in session.execute(
                select(
                    raw_id(User.id), id_text(User.id), User.first_name, User.last_name, User.email
                ).where(User.account_id == account.id)
            )
        }
        c = aliased(Client)
        currency = func.coalesce(Project.currency, c.currency, constant(account.currency))
        projects = {
            row[0]: (row[1], row[2], row[3], row[4], row[5], row[6])
            for row in session.execute(
                select(
                    raw_id(Project.id),
                    id_text(Project.id),
                    Project.name,
                    Project.code,
                    id_text(c.id),
                    c.name,
                    currency,
                )
                .outerjoin(c, c.id == Project.client_id)
                .where(Project.account_id == account.id)
            )
        }
        tasks = {
            row[0]: (row[1], row[2])
            for row in session.execute(
                select(raw_id(Task.id), id_text(Task.id), Task.name).where(
                    Task.account_id == account.id
                )
            )
        }
        return cls(users, projects, tasks)


def time_entries(session: Session, actor: Actor, filters: EntryFilters) -> Table:
    """Plan an export of the entries the list would show for these filters, oldest first.
    Figures are the list's (tracking/views.py): live time for running timers, the account's
    rounding, amounts half-up per entry (sql.Figures.amount_of, the reports' formula)."""
    view = tracking.viewer(session, actor)
    where = tracking.apply_filters(tracking.visible_entries(actor), filters, view).whereclause
    te = TimeEntry
    stmt: Select[Any] = (
        select(
            id_text(te.id),
            type_coerce(te.spent_date, String),
            type_coerce(te.user_id, String),
            type_coerce(te.project_id, String),
            type_coerce(te.task_id, String),
            te.notes,
            te.duration_seconds,
            utc_text(te.started_at),
            utc_text(te.ended_at),
            type_coerce(te.is_running, Integer),
            utc_text(te.timer_started_at),
            type_coerce(te.billable, Integer),
            raw(te.billable_rate),
            raw(te.cost_rate),
            te.source,
            te.approval_status,
            type_coerce(te.is_billed, Integer),
            te.external_ref_type,
            te.external_ref_id,
            json_text(te.meta),
            utc_text(te.created_at),
            utc_text(te.updated_at),
        )
        .where(where if where is not None else te.account_id == actor.account_id)
        .order_by(te.spent_date, te.id)
    )
    names = Catalogue.of(session, view.account)
    clock = Clock(view.zone)
    settings = view.settings
    mode, increment = settings.rounding_mode, settings.rounding_increment
    auto_stop, now = view.auto_stop, view.now
    amount_of = Figures.amount_of
    places_of = {code: minor_units(code) for *_, code in names.projects.values()}
    rate_text = Memo(AMOUNT_SCALE)

    def rows(read: Session) -> Iterator[Row]:
        result = read.execute(stmt.execution_options(yield_per=BATCH))
        for r in result:
            (
                id_,
                day,
                user_id,
                project_id,
                task_id,
                notes,
                secs,
                started,
                ended,
                running,
                timer_start,
                billable,
                rate,
                cost_rate,
                source,
                status,
                billed,
                ref_type,
                ref_id,
                meta,
                created,
                updated,
            ) = r
            user, project, task = (
                names.users[user_id],
                names.projects[project_id],
                names.tasks[task_id],
            )
            if running and timer_start is not None:  # as tracking.views.Viewer.view
                start_at = clock.instant(timer_start)
                assert start_at is not None
                until = now
                if auto_stop is not None and start_at + auto_stop <= now:
                    until = start_at + auto_stop
                    running, ended = 0, until
                secs += max(0, int((until - start_at).total_seconds()))
            rounded = secs if mode == "none" else round_seconds(secs, mode, increment)
            currency = project[5]
            places = places_of[currency]
            created_text = clock.iso(created)
            yield (
                id_,
                day if isinstance(day, str) else day.isoformat(),
                user[0],
                user[1],
                project[3],
                project[4],
                project[0],
                project[1],
                project[2],
                task[0],
                task[1],
                notes,
                hours_text(secs),
                hours_text(rounded),
                clock.hhmm(started),
                None if running else clock.hhmm(ended),
                "true" if running else "false",
                "true" if billable else "false",
                rate_text[rate],
                money_text(amount_of(rate, rounded, currency), places)
                if billable and rate is not None
                else None,
                rate_text[cost_rate],
                money_text(amount_of(cost_rate, rounded, currency), places)
                if cost_rate is not None
                else None,
                currency,
                source,
                status,
                "true" if billed or status == "approved" else "false",
                "true" if billed else "false",
                ref_type,
                ref_id,
                None if meta in (None, "null") else meta,
                created_text,
                created_text if updated == created else clock.iso(updated),
            )

    columns, kinds = zip(*ENTRY_COLUMNS, strict=True)
    return Table("time entries", columns, kinds, rows)


# --- expenses ---------------------------------------------------------------------------------

EXPENSE_COLUMNS = (
    ("id", TEXT),
    ("spent_date", TEXT),
    ("user_id", TEXT),
    ("user_name", TEXT),
    ("client_id", TEXT),
    ("client_name", TEXT),
    ("project_id", TEXT),
    ("project_name", TEXT),
    ("project_code", TEXT),
    ("expense_category_id", TEXT),
    ("expense_category_name", TEXT),
    ("units", NUMBER),
    ("unit_price", NUMBER),
    ("total_cost", NUMBER),
    ("currency", TEXT),
    ("notes", TEXT),
    ("billable", BOOL),
    ("source", TEXT),
    ("approval_status", TEXT),
    ("is_locked", BOOL),
    ("is_billed", BOOL),
    ("receipt_file_name", TEXT),
    ("receipt_content_type", TEXT),
    ("metadata", JSON),
    ("created_at", TEXT),
    ("updated_at", TEXT),
)


def expense_table(session: Session, actor: Actor, filters: ExpenseFilters) -> Table:
    view = tracking.viewer(session, actor)
    where = expenses.apply_filters(expenses.visible_expenses(actor), filters).whereclause
    ex = Expense
    p, c, u, k = aliased(Project), aliased(Client), aliased(User), aliased(ExpenseCategory)
    currency = func.coalesce(p.currency, c.currency, constant(view.account.currency))
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            id_text(ex.id),
            type_coerce(ex.spent_date, String),
            id_text(ex.user_id),
            u.first_name,
            u.last_name,
            u.email,
            id_text(c.id),
            c.name,
            id_text(p.id),
            p.name,
            p.code,
            id_text(k.id),
            k.name,
            ex.units,
            raw(ex.unit_price),
            raw(ex.total_cost),
            currency,
            ex.notes,
            ex.billable,
            ex.source,
            ex.approval_status,
            ex.is_billed,
            ex.receipt_file_name,
            ex.receipt_content_type,
            json_text(ex.meta),
            utc_text(ex.created_at),
            utc_text(ex.updated_at),
        )
        .select_from(ex)
        .join(u, u.id == ex.user_id)
        .join(p, p.id == ex.project_id)
        .outerjoin(c, c.id == p.client_id)
        .join(k, k.id == ex.expense_category_id)
        .where(where if where is not None else ex.account_id == actor.account_id)
        .order_by(ex.spent_date, ex.id)
    )
    clock = Clock(view.zone)

    def rows(read: Session) -> Iterator[Row]:
        result = read.execute(stmt.execution_options(yield_per=BATCH))
        for r in result:
            (
                id_,
                day,
                user_id,
                first,
                last,
                email,
                client_id,
                client_name,
                project_id,
                project_name,
                code,
                category_id,
                category,
                units,
                price,
                total,
                cur,
                notes,
                billable,
                source,
                status,
                billed,
                receipt,
                receipt_type,
                meta,
                created,
                updated,
            ) = r
            places = minor_units(cur)
            yield (
                id_,
                day.isoformat() if isinstance(day, date) else day,
                user_id,
                _name(first, last, email),
                client_id if client_name is not None else None,
                client_name,
                project_id,
                project_name,
                code,
                category_id,
                category,
                None if units is None else str(units),
                scaled(price, UNIT_PRICE_SCALE),
                scaled(total, AMOUNT_SCALE, places),
                cur,
                notes,
                flag(billable),
                source,
                status,
                flag(billed or status == "approved"),
                flag(billed),
                receipt,
                receipt_type,
                None if meta in (None, "null") else meta,
                clock.iso(created),
                clock.iso(updated),
            )

    names, kinds = zip(*EXPENSE_COLUMNS, strict=True)
    return Table("expenses", names, kinds, rows)


# --- reports ----------------------------------------------------------------------------------


def paged_table(
    name: str,
    columns: Sequence[tuple[str, str, Callable[[Any], Cell]]],
    fetch: Callable[[Session, int, int], Any],
) -> Table:
    """A report as a table: `fetch(session, page, per_page)` returns a Page of rows, each
    column reads its cell from a row. Pages are read until the last."""

    def rows(read: Session) -> Iterator[Row]:
        page = 1
        while True:
            result = fetch(read, page, BATCH)
            for item in result.items:
                yield tuple(read_cell(item) for _, _, read_cell in columns)
            if page >= result.total_pages:
                return
            page += 1

    return Table(
        name,
        tuple(name for name, _, _ in columns),
        tuple(kind for _, kind, _ in columns),
        rows,
    )


def number(value: Any) -> str | None:
    """A Decimal (or int) as exact decimal text."""
    if value is None:
        return None
    return str(value) if isinstance(value, int) else format(value, "f")


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return flag(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
