"""Exports: time entries, expenses and every report as CSV, NDJSON or XLSX, streamed with
constant memory. One header row of stable column names (the `*_COLUMNS` tuples below);
dates and times in the account's zone; numbers as exact decimal text (XLSX: numbers).

Time entries and expenses, the big exports, are made as text by the database
(reports/sql_text.py): each row arrives as finished cells, and for CSV as one finished line
with its line end, which Python joins a batch at a time. Reports are small and made in
Python.

An export is planned inside the request (filters checked, so a bad one is a 4xx before any
byte is sent) and run by the response in a read transaction of its own, reading rows in
batches as the query runs (db.batches: libpq's chunked rows on PostgreSQL, SQLite's own
cursor); XLSX goes through XlsxWriter's constant-memory mode into a temporary file that is
then streamed. The response makes its chunks a few ahead of the sending
(surfaces/native/exporting.py)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column as SqlColumn
from sqlalchemy import (
    ColumnElement,
    MetaData,
    Select,
    String,
    case,
    cast,
    func,
    null,
    select,
)
from sqlalchemy import Table as SqlTable
from sqlalchemy.orm import Session, aliased

from timeledger.server.accounts.models import User, person_name_sql
from timeledger.server.catalog.models import Client, Project, Task
from timeledger.server.core.actor import Actor
from timeledger.server.core.money import AMOUNT_SCALE, UNIT_PRICE_SCALE
from timeledger.server.db import batches
from timeledger.server.expenses import service as expenses
from timeledger.server.expenses.models import Expense, ExpenseCategory
from timeledger.server.expenses.schemas import ExpenseFilters
from timeledger.server.reports.sql import Figures, constant, raw
from timeledger.server.reports.sql_text import (
    BOOL,
    JSON,
    NUMBER,
    TEXT,
    WORD,
    csv_cells,
    fixed_text,
    flag_text,
    id_text,
    joined,
    local_time,
    money_text,
    scaled_text,
    shifted,
)
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.models import BillingJoin, TimeEntry
from timeledger.server.tracking.schemas import EntryFilters

BATCH = 2_000
FLUSH_BYTES = 256 * 1024
CRLF = "\r\n"  # csv.writer's line end
XLSX_MAX_ROWS = 1_048_576  # per sheet, the header included

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
    # The CSV text after the header, many lines at a time, when the database makes it.
    csv: Callable[[Session], Iterable[str]] | None = None


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def stream(open_session: OpenSession, table: Table, fmt: str) -> Generator[bytes, None, None]:
    """The export's bytes, produced while a read transaction of its own is open."""
    with open_session() as session:
        if fmt == "csv":
            yield from _chunked(_csv(table, session))
        elif fmt == "ndjson":
            yield from _chunked(_ndjson(table, table.rows(session)))
        else:
            yield from _xlsx(table, table.rows(session))


# --- formats ----------------------------------------------------------------------------------


def _chunked(pieces: Iterable[str]) -> Iterator[bytes]:
    """Text (lines with their ends) as encoded chunks of about FLUSH_BYTES or more."""
    chunk: list[str] = []
    size = 0
    for piece in pieces:
        chunk.append(piece)
        size += len(piece)
        if size >= FLUSH_BYTES:
            yield "".join(chunk).encode()
            chunk, size = [], 0
    yield "".join(chunk).encode()


def _csv(table: Table, session: Session) -> Iterator[str]:
    """What csv.writer writes (minimal quoting, CRLF): the database's own text when it
    makes it, else the rows quoted cell by cell."""
    yield _csv_line(table.columns) + CRLF
    if table.csv:
        yield from table.csv(session)
    else:
        for row in table.rows(session):
            yield _csv_line(row) + CRLF


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


def _ndjson(table: Table, rows: Iterable[Row]) -> Iterator[str]:
    keys = [json.dumps(name) + ":" for name in table.columns]
    plain = {NUMBER, JSON, BOOL}  # already JSON text
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
        yield "{" + ",".join(parts) + "}\n"


def _xlsx(table: Table, rows: Iterable[Row]) -> Iterator[bytes]:
    handle, path = tempfile.mkstemp(prefix="timeledger-export-", suffix=".xlsx")
    os.close(handle)
    try:
        import xlsxwriter  # type: ignore[import-untyped]  # on first use: 2 MiB held otherwise

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


def json_text(column: Any) -> ColumnElement[str]:
    """A JSON column as its JSON text, without parsing it in Python."""
    return cast(column, String)


def flag(value: Any) -> str:
    return "true" if value else "false"


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


Cellspec = tuple[str, str, Any]  # a column's name, kind, and SQL text of its cell


@dataclass(frozen=True)
class Catalogue:
    """An account's users, projects, tasks or expense categories as export cells with their
    CSV piece, made once per export and joined to the rows by key."""

    name: str
    cells: tuple[Cellspec, ...]
    stmt: Select[Any]  # key, the cells, the CSV piece ("csv")

    @classmethod
    def of(cls, name: str, key: Any, cells: Sequence[Cellspec], stmt: Select[Any]) -> Catalogue:
        values = [value for _, _, value in cells]
        piece = joined(*csv_cells(values, [kind for _, kind, _ in cells]))
        labelled = [value.label(n) for n, _, value in cells]
        columns = (key.label("key"), *labelled, piece.label("csv"))
        return cls(name, tuple(cells), stmt.with_only_columns(*columns))

    @contextmanager
    def relation(self, read: Session) -> Iterator[Any]:
        """The catalogue as a relation of the read transaction. PostgreSQL hash-joins a
        materialized CTE. SQLite's planner, knowing nothing of a CTE's size, scanned it once
        per row (or made it the outer loop): there it is a temporary table looked up by
        its primary key, dropped afterwards."""
        if read.get_bind().dialect.name == "postgresql":
            yield self.stmt.cte(self.name).prefix_with("MATERIALIZED")
            return
        columns = ["key", *(n for n, _, _ in self.cells), "csv"]
        table = SqlTable(
            self.name,
            MetaData(),
            *(SqlColumn(n, String, primary_key=n == "key") for n in columns),
            prefixes=["TEMPORARY"],
            sqlite_with_rowid=False,
        )
        conn = read.connection()
        table.drop(conn, checkfirst=True)
        table.create(conn)
        conn.execute(table.insert().from_select(columns, self.stmt))
        yield table
        # Not on failure: the read transaction's rollback takes the table with it.
        table.drop(conn)


def _users(account_id: Any) -> Catalogue:
    return Catalogue.of(
        "export_users",
        User.id,
        [
            ("user_id", WORD, id_text(User.id)),
            ("user_name", TEXT, person_name_sql(User.first_name, User.last_name, User.email)),
        ],
        select(User.id).where(User.account_id == account_id),
    )


def _projects(account_id: Any) -> Catalogue:
    c = aliased(Client)
    return Catalogue.of(
        "export_projects",
        Project.id,
        [
            ("client_id", WORD, case((c.id.is_(None), null()), else_=id_text(c.id))),
            ("client_name", TEXT, c.name),
            ("project_id", WORD, id_text(Project.id)),
            ("project_name", TEXT, Project.name),
            ("project_code", TEXT, Project.code),
        ],
        select(Project.id)
        .outerjoin(c, c.id == Project.client_id)
        .where(Project.account_id == account_id),
    )


@dataclass(frozen=True)
class Layout:
    """An exported row: `head` cells, the cells of the row's entry in each catalogue
    (joined on the row's `keys`), then `tail` cells; `base` is the query of the rows (its
    FROM, WHERE and ORDER BY)."""

    head: Sequence[Cellspec]
    catalogues: tuple[Catalogue, ...]
    keys: tuple[Any, ...]
    tail: Sequence[Cellspec]
    base: Select[Any]

    def table(self, name: str, expected: Sequence[tuple[str, str]]) -> Table:
        cells = [*self.head, *(c for cat in self.catalogues for c in cat.cells), *self.tail]
        assert [(n, kind) for n, kind, _ in cells] == list(expected), "columns out of step"

        def values(columns: Sequence[Cellspec]) -> list[Any]:
            return [value for _, _, value in columns]

        def csv_pieces(columns: Sequence[Cellspec]) -> list[Any]:
            return csv_cells(values(columns), [kind for _, kind, _ in columns])

        def rows(read: Session) -> Iterator[Row]:
            with self._joined(read) as relations:
                found = [
                    relation.c[n]
                    for relation, catalogue in zip(relations, self.catalogues, strict=True)
                    for n, _, _ in catalogue.cells
                ]
                columns = (*values(self.head), *found, *values(self.tail))
                for batch in batches(read.connection(), self._select(relations, *columns), BATCH):
                    yield from batch

        def csv(read: Session) -> Iterator[str]:
            with self._joined(read) as relations:
                pieces = (relation.c.csv for relation in relations)
                cells = (*csv_pieces(self.head), *pieces, *csv_pieces(self.tail))
                stmt = self._select(relations, joined(*cells, end=CRLF))
                for batch in batches(read.connection(), stmt, BATCH):
                    yield "".join([line for (line,) in batch])

        columns, kinds = zip(*expected, strict=True)
        return Table(name, columns, kinds, rows=rows, csv=csv)

    @contextmanager
    def _joined(self, read: Session) -> Iterator[list[Any]]:
        with ExitStack() as stack:
            yield [stack.enter_context(c.relation(read)) for c in self.catalogues]

    def _select(self, relations: Sequence[Any], *columns: Any) -> Select[Any]:
        stmt = self.base
        for relation, key in zip(relations, self.keys, strict=True):
            # LEFT: the rows stay the outer loop, whatever a planner thinks of the sizes.
            stmt = stmt.outerjoin(relation, relation.c.key == key)
        return stmt.with_only_columns(*columns)


def time_entries(session: Session, actor: Actor, filters: EntryFilters) -> Table:
    """Plan an export of the entries the list would show for these filters, oldest first.
    Every cell is the list's figure, as text made by the database (sql_text): live time for
    running timers (stopped at their auto-stop when past it), the account's rounding,
    amounts half-up per entry: the figures the reports sum."""
    view = tracking.viewer(session, actor)
    where = tracking.apply_filters(tracking.visible_entries(actor), filters, view).whereclause
    te = TimeEntry
    figures = Figures.of(session, view.account, view.now)
    zone = view.account.timezone
    billing = BillingJoin(te)
    tasks = Catalogue.of(
        "export_tasks",
        Task.id,
        [("task_id", WORD, id_text(Task.id)), ("task_name", TEXT, Task.name)],
        select(Task.id).where(Task.account_id == actor.account_id),
    )

    overdue, running = view.overdue_rows(), view.running_rows()
    # A finished entry's figures are those reports/derived.py keeps on every write (which
    # the reports sum); a running timer's are worked out the same way for its live time.
    live = figures.seconds()
    live_rounded = figures.rounded(live)

    def kept_or_live(kept: Any, live_value: Any) -> Any:
        return case((te.is_running, live_value), else_=kept)

    def money(kept: Any, rate: Any, billed_seconds: Any) -> Any:
        minor = kept_or_live(kept, figures.amount(rate, billed_seconds, te.currency.expression))
        return money_text(minor, te.currency, figures.currencies)

    ended: Any = local_time(te.ended_at, zone, "hhmm")
    limit = figures.settings.auto_stop
    if overdue is not None and limit is not None:  # stopped at the limit
        stop_at = shifted(te.timer_started_at, int(limit.total_seconds()))
        ended = case((overdue, local_time(stop_at, zone, "hhmm")), else_=ended)

    tail = [
        te.notes,
        fixed_text(Figures.hours(kept_or_live(te.duration_seconds, live)), 4),
        fixed_text(Figures.hours(kept_or_live(te.rounded_seconds, live_rounded)), 4),
        local_time(te.started_at, zone, "hhmm"),
        case((running, null()), else_=ended),
        flag_text(running),
        flag_text(te.billable),
        scaled_text(raw(te.billable_rate), AMOUNT_SCALE),
        case(
            (
                te.billable & te.billable_rate.is_not(None),
                money(
                    te.billable_minor,
                    te.billable_rate,
                    func.coalesce(te.billable_seconds, live_rounded),
                ),
            )
        ),
        scaled_text(raw(te.cost_rate), AMOUNT_SCALE),
        case(
            (
                te.cost_rate.is_not(None),
                money(te.cost_minor, te.cost_rate, live_rounded),
            )
        ),
        te.currency,
        *_status(te, billing),
        te.external_ref_type,
        te.external_ref_id,
        *_closing(te, billing, zone),
    ]
    third = (tasks, te.task_id)
    return _ledger_table("time entries", ENTRY_COLUMNS, te, actor, third, tail, billing, where)


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
    figures = Figures.of(session, view.account, view.now)
    zone = view.account.timezone
    billing = BillingJoin(ex)
    categories = Catalogue.of(
        "export_categories",
        ExpenseCategory.id,
        [
            ("expense_category_id", WORD, id_text(ExpenseCategory.id)),
            ("expense_category_name", TEXT, ExpenseCategory.name),
        ],
        select(ExpenseCategory.id).where(ExpenseCategory.account_id == actor.account_id),
    )
    # The currency of the row's project (its own, else its client's, else the account's):
    # the one join by key, as the currency decides how the total is written.
    p, c = aliased(Project), aliased(Client)
    currency = func.coalesce(p.currency, c.currency, constant(view.account.currency))
    tail = [
        cast(ex.units, String),
        scaled_text(raw(ex.unit_price), UNIT_PRICE_SCALE),
        money_text(raw(ex.total_cost), currency, figures.currencies, scale=AMOUNT_SCALE),
        currency,
        ex.notes,
        flag_text(ex.billable),
        *_status(ex, billing),
        ex.receipt_file_name,
        ex.receipt_content_type,
        *_closing(ex, billing, zone),
    ]
    third = (categories, ex.expense_category_id)
    base = select(ex.id).join(p, p.id == ex.project_id).outerjoin(c, c.id == p.client_id)
    return _ledger_table("expenses", EXPENSE_COLUMNS, ex, actor, third, tail, billing, where, base)


def _status(model: Any, billing: BillingJoin) -> list[Any]:
    """source, approval_status, is_locked, is_billed: as time entries and expenses have them."""
    billed = billing.is_billed
    return [
        model.source,
        model.approval_status,
        flag_text(billed | (model.approval_status == "approved")),
        flag_text(billed),
    ]


def _closing(model: Any, billing: BillingJoin, zone: str) -> list[Any]:
    """metadata, created_at, updated_at: the last columns of time entries and expenses."""
    return [
        func.nullif(json_text(model.meta), "null"),
        local_time(model.created_at, zone, "iso"),
        billing.changed_at(lambda at: local_time(at, zone, "iso")),
    ]


def _ledger_table(
    name: str,
    columns: Sequence[tuple[str, str]],
    model: Any,
    actor: Actor,
    third: tuple[Catalogue, Any],
    tail: Sequence[Any],
    billing: BillingJoin,
    where: ColumnElement[bool] | None,
    base: Select[Any] | None = None,
) -> Table:
    """Time entries and expenses: id and date, the row's user, project and `third` catalogue
    entry (with the row's key to it), then the `tail` cells (made with `billing`, whose
    marks are joined here); oldest first. `base` adds joins the tail needs."""
    catalogue, key = third
    base = (select(model.id) if base is None else base).outerjoin(billing.mark, billing.joined)
    return Layout(
        head=[
            ("id", WORD, id_text(model.id)),
            ("spent_date", WORD, cast(model.spent_date, String)),
        ],
        catalogues=(_users(actor.account_id), _projects(actor.account_id), catalogue),
        keys=(model.user_id, model.project_id, key),
        tail=[(n, k, v) for (n, k), v in zip(columns[11:], tail, strict=True)],
        base=base.where(
            where if where is not None else model.account_id == actor.account_id
        ).order_by(model.spent_date, model.id),
    ).table(name, columns)


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
