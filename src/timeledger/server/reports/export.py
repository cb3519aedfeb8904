"""Exports: time entries, expenses and every report as CSV, NDJSON or XLSX, streamed with
constant memory. One header row of stable column names (the `*_COLUMNS` tuples below);
dates and times in the account's zone; numbers as exact decimal text (XLSX: numbers).
Time entries, the big export, keep Python's work per row to a few microseconds: the database
hands over cheap text (dates, UTC times, ids as hex digits), values that repeat (names,
durations, rates, each UTC hour's local time) are worked out once, and CSV lines are joined
with str.join rather than the csv module.

An export is planned inside the request (filters checked, so a bad one is a 4xx before any
byte is sent) and run by the response in a read transaction of its own, reading rows from
a server-side cursor (PostgreSQL) or SQLite's own cursor in batches; XLSX goes through
XlsxWriter's constant-memory mode into a temporary file that is then streamed."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter  # type: ignore[import-untyped]
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    cast,
    func,
    null,
    select,
    type_coerce,
)
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
from timeledger.server.tracking.models import BillingJoin, TimeEntry
from timeledger.server.tracking.schemas import EntryFilters
from timeledger.server.tracking.timing import round_seconds

BATCH = 2_000
FLUSH_BYTES = 256 * 1024
XLSX_MAX_ROWS = 1_048_576  # per sheet, the header included

# Column kinds: how each format writes a value. A WORD is text that never holds a comma, a
# quote, a backslash or a line break (ids, dates, times, codes), so no format escapes it.
TEXT, WORD, NUMBER, BOOL, JSON = "text", "word", "number", "bool", "json"

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
    """What csv.writer writes (minimal quoting, CRLF), but joined with str.join: the csv
    module looks at every character twice, which cost more than the rest of the export.
    A line is quoted cell by cell only when one of its cells holds a comma, a quote or a
    line break (then the line has more commas than cells, or the character itself), and
    then only its text cells are looked at: numbers, flags and words never need quotes."""
    separators = len(table.columns) - 1
    nulls: dict[Any, Any] = {None: ""}
    blank = nulls.get  # blank(cell, cell): None as "", any other cell as itself
    texts = [i for i, kind in enumerate(table.kinds) if kind in (TEXT, JSON)]
    lines = [_csv_line(table.columns)]
    size = 0
    for row in rows:
        line = ",".join(map(blank, row, row))
        if not line or line.count(",") != separators or '"' in line or "\n" in line or "\r" in line:
            if len(row) == 1:
                line = _csv_line(row)
            else:
                cells = list(map(blank, row, row))
                for i in texts:
                    cells[i] = _csv_cell(cells[i])
                line = ",".join(cells)
        lines.append(line)
        size += len(line)
        if size >= FLUSH_BYTES:
            lines.append("")
            yield "\r\n".join(lines).encode()
            lines, size = [], 0
    lines.append("")
    yield "\r\n".join(lines).encode()


def _csv_line(row: Row) -> str:
    if len(row) == 1 and not row[0]:
        return '""'  # as csv.writer: a line of one empty cell is not an empty line
    return ",".join(map(_csv_cell, row))


def _csv_cell(cell: Cell) -> str:
    if cell is None:
        return ""
    if _CSV_SPECIAL(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell


_CSV_SPECIAL = re.compile('[,"\r\n]').search


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
            elif kind == WORD:
                parts.append(key + '"' + value + '"')
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


class utc_text(FunctionElement[str]):  # noqa: N801
    """A UTCDateTime as UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (as SQLite stores it), for
    Clock."""

    type = String()
    inherit_cache = True


@compiles(utc_text, "postgresql")
def _utc_text_postgresql(element: utc_text, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(next(iter(element.clauses)), **kw)
    return f"to_char({arg} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


class id_hex(FunctionElement[str]):  # noqa: N801
    """A Uuid column as its 32 hex digits (as SQLite stores it): catalogue keys, and ids
    that `hex_id` writes out in Python, cheaper than in SQLite."""

    type = String()
    inherit_cache = True


@compiles(utc_text, "sqlite")
@compiles(id_hex, "sqlite")
def _as_stored_by_sqlite(element: FunctionElement[str], compiler: SQLCompiler, **kw: Any) -> str:
    """Both are the text SQLite already stores: the column itself."""
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(id_hex, "postgresql")
def _id_hex_postgresql(element: id_hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"replace(CAST({compiler.process(next(iter(element.clauses)), **kw)} AS TEXT), '-', '')"


def hex_id(digits: str) -> str:
    """32 hex digits as a UUID's canonical text, 8-4-4-4-12."""
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


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
    """Values worked out once each by `make`, for values that repeat (rates, durations)."""

    def __init__(self, make: Callable[[Any], Any]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, value: Any) -> Any:
        made = self[value] = self.make(value)
        return made


class Clock:
    """UTC instants as utc_text writes them, as ISO 8601 (and HH:mm) in the account's zone.
    What each UTC hour is locally is worked out once, so a value is a few string slices; an
    hour in which the offset changes, or an offset that is not whole hours, goes through
    datetime value by value."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        # 'YYYY-MM-DD HH' (UTC) -> ('YYYY-MM-DDTHH' local, local 'HH', offset '+01:00')
        self._hours = Memo(self._hour)

    def _hour(self, key: str) -> tuple[str, str, str] | None:
        start = datetime.fromisoformat(key + ":00").replace(tzinfo=UTC)
        first = start.astimezone(self.zone).utcoffset()
        last = (start + timedelta(minutes=59, seconds=59)).astimezone(self.zone).utcoffset()
        if first is None or first != last or first % timedelta(hours=1):
            return None
        local = start.astimezone(self.zone).isoformat()  # 'YYYY-MM-DDTHH:00:00+01:00'
        return local[:13], local[11:13], local[19:]

    def _slow(self, value: str) -> datetime:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(self.zone)

    def iso(self, value: str | None) -> str | None:
        if value is None:
            return None
        hour: tuple[str, str, str] | None = self._hours[value[:13]]
        fraction = value[19:]
        if hour is None or len(fraction) != 7:
            return self._slow(value).isoformat()
        if fraction == ".000000":  # as isoformat: no fraction when it is zero
            fraction = ""
        return hour[0] + value[13:19] + fraction + hour[2]

    def hhmm(self, value: str | None) -> str | None:
        if value is None:
            return None
        hour: tuple[str, str, str] | None = self._hours[value[:13]]
        if hour is None:
            local = self._slow(value)
            return f"{local.hour:02d}:{local.minute:02d}"
        return hour[1] + value[13:16]


def flag(value: Any) -> str:
    return "true" if value else "false"


def _name(first: str | None, last: str | None, email: str | None) -> str:
    return " ".join(part for part in (first, last) if part) or (email or "")


# --- time entries -----------------------------------------------------------------------------

ENTRY_COLUMNS = (
    ("id", WORD),
    ("spent_date", WORD),
    ("user_id", WORD),
    ("user_name", TEXT),
    ("client_id", WORD),
    ("client_name", TEXT),
    ("project_id", WORD),
    ("project_name", TEXT),
    ("project_code", TEXT),
    ("task_id", WORD),
    ("task_name", TEXT),
    ("notes", TEXT),
    ("hours", NUMBER),
    ("rounded_hours", NUMBER),
    ("started_time", WORD),
    ("ended_time", WORD),
    ("is_running", BOOL),
    ("billable", BOOL),
    ("billable_rate", NUMBER),
    ("billable_amount", NUMBER),
    ("cost_rate", NUMBER),
    ("cost_amount", NUMBER),
    ("currency", WORD),
    ("source", WORD),
    ("approval_status", WORD),
    ("is_locked", BOOL),
    ("is_billed", BOOL),
    ("external_reference_type", TEXT),
    ("external_reference_id", TEXT),
    ("metadata", JSON),
    ("created_at", WORD),
    ("updated_at", WORD),
)


@dataclass(frozen=True)
class Catalogue:
    """Display cells of an account's users, projects (with client and currency) and tasks,
    by their ids' hex digits, read once per export so rows need no joins; bounded by the
    catalogue, not the export."""

    users: dict[str, tuple[str, str]]  # (id, name)
    projects: dict[str, tuple[str | None, str | None, str, str, str | None, str]]
    tasks: dict[str, tuple[str, str]]  # (id, name)

    @classmethod
    def of(cls, session: Session, account: Any) -> Catalogue:
        users = {
            row[0]: (hex_id(row[0]), _name(row[1], row[2], row[3]))
            for row in session.execute(
                select(id_hex(User.id), User.first_name, User.last_name, User.email).where(
                    User.account_id == account.id
                )
            )
        }
        c = aliased(Client)
        currency = func.coalesce(Project.currency, c.currency, constant(account.currency))
        # (client id, client name, project id, name, code, currency)
        projects: dict[str, tuple[str | None, str | None, str, str, str | None, str]] = {
            row[0]: (row[1] and hex_id(row[1]), row[2], hex_id(row[0]), row[3], row[4], row[5])
            for row in session.execute(
                select(
                    id_hex(Project.id), id_hex(c.id), c.name, Project.name, Project.code, currency
                )
                .outerjoin(c, c.id == Project.client_id)
                .where(Project.account_id == account.id)
            )
        }
        tasks = {
            row[0]: (hex_id(row[0]), row[1])
            for row in session.execute(
                select(id_hex(Task.id), Task.name).where(Task.account_id == account.id)
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
    # A running timer's time up to now (or its auto-stop), as the reports count it.
    seconds = Figures.of(session, view.account, view.now).seconds()
    billing = BillingJoin(te)
    stmt = (
        select(
            id_hex(te.id),
            cast(te.spent_date, String),
            id_hex(te.user_id),
            id_hex(te.project_id),
            id_hex(te.task_id),
            te.notes,
            seconds,
            te.billable_seconds,
            utc_text(te.started_at),
            utc_text(case((te.is_running, null()), else_=te.ended_at)),
            type_coerce(te.is_running, Integer),
            utc_text(te.timer_started_at),
            type_coerce(te.billable, Integer),
            raw(te.billable_rate),
            raw(te.cost_rate),
            te.source,
            te.approval_status,
            type_coerce(billing.is_billed, Integer),
            te.external_ref_type,
            te.external_ref_id,
            func.nullif(json_text(te.meta), "null"),
            utc_text(te.created_at),
            utc_text(billing.changed_at),
        )
        .select_from(te)
        .outerjoin(billing.mark, billing.joined)
        .where(where if where is not None else te.account_id == actor.account_id)
        .order_by(te.spent_date, te.id)
    )
    names = Catalogue.of(session, view.account)
    clock = Clock(view.zone)
    settings = view.settings
    mode, increment = settings.rounding_mode, settings.rounding_increment
    auto_stop, now = view.auto_stop, view.now
    places_of = {code: minor_units(code) for *_, code in names.projects.values()}
    # amount = (2 x rate x rounded + D) // 2D, as sql.Figures.amount_of
    divisor_of = {code: 3600 * 10 ** (AMOUNT_SCALE - n) for code, n in places_of.items()}

    def times(seconds: int) -> tuple[str, str, int]:
        rounded = seconds if mode == "none" else round_seconds(seconds, mode, increment)
        return hours_text(seconds), hours_text(rounded), rounded

    def rows(read: Session) -> Iterator[Row]:
        users, projects, tasks = names.users, names.projects, names.tasks
        iso, hhmm = clock.iso, clock.hhmm
        figures_of = Memo(times)  # by seconds: hours, rounded hours, rounded seconds
        rate_text = Memo(lambda rate: scaled(rate, AMOUNT_SCALE))
        flags = ("false", "true")
        # Core, not the ORM's result machinery: plain rows, fetched BATCH at a time.
        for r in read.connection().execute(stmt.execution_options(yield_per=BATCH)):
            (
                id_,
                day,
                user_id,
                project_id,
                task_id,
                notes,
                secs,
                explicit,
                started,
                ended,
                running,
                timer,
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
            project = projects[project_id]
            if running and auto_stop is not None and timer is not None:  # Viewer.overdue
                stop_at = datetime.fromisoformat(timer).replace(tzinfo=UTC) + auto_stop
                if stop_at <= now:  # past the account's limit: stopped then
                    running, ended = 0, stop_at.strftime("%Y-%m-%d %H:%M:%S.%f")
            hours, rounded_hours, rounded = figures_of[secs]
            # What it bills: an explicit billable part as given, as tracking/views.py has it.
            billed_seconds = rounded if explicit is None else explicit
            currency = project[5]
            places, divisor = places_of[currency], divisor_of[currency]
            created_text = iso(created)
            yield (
                hex_id(id_),
                day,
                *users[user_id],
                *project[:5],
                *tasks[task_id],
                notes,
                hours,
                rounded_hours,
                hhmm(started),
                hhmm(ended),
                flags[running],
                flags[billable],
                rate_text[rate],
                money_text((2 * rate * billed_seconds + divisor) // (2 * divisor), places)
                if billable and rate is not None
                else None,
                rate_text[cost_rate],
                money_text((2 * cost_rate * rounded + divisor) // (2 * divisor), places)
                if cost_rate is not None
                else None,
                currency,
                source,
                status,
                flags[billed or status == "approved"],
                flags[billed],
                ref_type,
                ref_id,
                meta,
                created_text,
                created_text if updated == created else iso(updated),
            )

    columns, kinds = zip(*ENTRY_COLUMNS, strict=True)
    return Table("time entries", columns, kinds, rows)


# --- expenses ---------------------------------------------------------------------------------

EXPENSE_COLUMNS = (
    ("id", WORD),
    ("spent_date", WORD),
    ("user_id", WORD),
    ("user_name", TEXT),
    ("client_id", WORD),
    ("client_name", TEXT),
    ("project_id", WORD),
    ("project_name", TEXT),
    ("project_code", TEXT),
    ("expense_category_id", WORD),
    ("expense_category_name", TEXT),
    ("units", NUMBER),
    ("unit_price", NUMBER),
    ("total_cost", NUMBER),
    ("currency", WORD),
    ("notes", TEXT),
    ("billable", BOOL),
    ("source", WORD),
    ("approval_status", WORD),
    ("is_locked", BOOL),
    ("is_billed", BOOL),
    ("receipt_file_name", TEXT),
    ("receipt_content_type", TEXT),
    ("metadata", JSON),
    ("created_at", WORD),
    ("updated_at", WORD),
)


def expense_table(session: Session, actor: Actor, filters: ExpenseFilters) -> Table:
    view = tracking.viewer(session, actor)
    where = expenses.apply_filters(
        expenses.visible_expenses(actor), filters, actor.account_id
    ).whereclause
    ex = Expense
    p, c, u, k = aliased(Project), aliased(Client), aliased(User), aliased(ExpenseCategory)
    currency = func.coalesce(p.currency, c.currency, constant(view.account.currency))
    billing = BillingJoin(ex)
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
            billing.is_billed,
            ex.receipt_file_name,
            ex.receipt_content_type,
            json_text(ex.meta),
            utc_text(ex.created_at),
            utc_text(billing.changed_at),
        )
        .select_from(ex)
        .outerjoin(billing.mark, billing.joined)
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
