"""What other domains derive from a time entry, kept in step on every write of it:

- Its billed figures (TimeEntry.FIGURE_COLUMNS: currency, rounded seconds, billable and cost
  amounts in minor units), so reports sum columns instead of computing every row. Before each
  flush, every new or changed entry gets them from tracking/views.py, the computation the API
  shows (a create writes its entry past the flush, with the same steps: `insert_entry`).
  They are those of the finished time (`duration_seconds`); for a running timer the reports
  add the live part themselves (reports/sql.py). They depend on the entry's own rates
  (snapshots, so changing a project, user or task rate changes no entry), the account's
  rounding and the currency of the entry's project; when the rounding, or a currency an
  account, project or client resolves to, changes, `recompute` redoes the entries concerned
  in SQL after the flush.
- Totals kept per key (`ROLLUPS`), moved by the difference every flush (or `insert_entry`)
  makes to the rows they sum, and rebuilt with the figures by `recompute`: what each project
  spent per month (reports/models.py ProjectSpending, of time entries, outcomes and
  expenses), so budget checks read a few rows (reports/budget.py); and each user's finished
  time per day (UserDayTime), which reports over people and days sum instead of the entries.
- Its outcome row (outcomes/projection.py) and the budget check of the project it counts
  toward (reports/budget.py): tracking/service.py calls `entry_written`/`entry_deleting`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Uuid,
    and_,
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session, UOWTransaction, aliased

from timeledger.server.accounts.models import Account
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.catalog.models import Client, Project
from timeledger.server.core.actor import Actor
from timeledger.server.core.clock import utcnow
from timeledger.server.core.money import AMOUNT_SCALE, in_minor_units
from timeledger.server.db import insert_object, upsert
from timeledger.server.expenses.models import Expense
from timeledger.server.outcomes import projection
from timeledger.server.outcomes.models import Outcome
from timeledger.server.reports import budget
from timeledger.server.reports.models import ProjectSpending, UserDayTime
from timeledger.server.reports.sql import Figures, hours_of, month_start, raw
from timeledger.server.tracking.models import TimeEntry
from timeledger.server.tracking.views import Viewer

_STALE = "timeledger.figures.stale"  # session.info: scopes to recompute after the flush
_DELTAS = "timeledger.figures.deltas"  # session.info: spending to add after the flush
SPENDING = ("hours", "billable_minor", "outcome_revenue", "expense_billable")  # its measures


def entry_written(
    session: Session,
    actor: Actor | None,
    entry: TimeEntry,
    *,
    new: bool = False,
    stopped: bool = False,
    before: dict[str, Any] | None = None,
) -> None:
    """After `actor` (None: the system) created (`new`), stopped (`stopped`: it was a running
    timer) or changed (`before`: its payload before) an entry."""
    projection.sync(session, actor, entry, no_row_yet=new or stopped)
    budget.touch(session, entry.account_id, entry.project_id, entry.spent_date)
    if before is not None:
        project_id = uuid.UUID(before["project_id"])
        day = date.fromisoformat(before["spent_date"])
        if (project_id, day) != (entry.project_id, entry.spent_date):
            budget.touch(session, entry.account_id, project_id, day)


def insert_entry(session: Session, entry: TimeEntry, viewer: Viewer) -> None:
    """Write a new entry now, past the unit of work (db.insert_object), with what a flush
    would derive for it (_before_flush, _after_flush): its stored figures, and what it adds
    to the kept totals."""
    store(entry, viewer)
    insert_object(session, entry)
    deltas = _deltas([entry])
    if deltas:
        _apply(session, deltas)


def entry_deleting(session: Session, actor: Actor, entry: TimeEntry) -> None:
    """Before an entry is deleted."""
    projection.forget(session, actor, entry)
    budget.touch(session, entry.account_id, entry.project_id, entry.spent_date)


# --- stored figures -------------------------------------------------------------------------


def store(entry: TimeEntry, viewer: Viewer) -> None:
    """Set an entry's stored figures from its finished time."""
    figures = viewer.figures(entry, entry.duration_seconds)
    entry.currency = figures.currency
    entry.rounded_seconds = figures.rounded_seconds
    entry.billable_minor = in_minor_units(figures.billable_amount, figures.currency)
    entry.cost_minor = in_minor_units(figures.cost_amount, figures.currency)


def recompute(session: Session, account: Account, projects: Select[Any] | None = None) -> int:
    """Redo the stored figures of an account's entries (of `projects`, a select of their ids;
    None for all) in SQL, as `store` would: the same rules as reports/sql.py's live figures;
    give their outcomes the entries' currencies again, and rebuild the kept totals. Returns
    the entries."""
    te = TimeEntry.__table__.c
    scope = [te.account_id == account.id]
    if projects is not None:
        scope.append(te.project_id.in_(projects.scalar_subquery()))
    p, c = aliased(Project), aliased(Client)
    currency = (
        select(func.coalesce(p.currency, c.currency, account.currency))
        .outerjoin(c, c.id == p.client_id)
        .where(p.id == te.project_id)
        .scalar_subquery()
    )
    conn = session.connection()
    # updated_at is kept: a derived figure changing is not a change of the entry.
    keep = {"updated_at": te.updated_at}
    conn.execute(update(TimeEntry).where(*scope).values(currency=currency, **keep))
    entry_currency = select(te.currency).where(te.id == Outcome.id).scalar_subquery()
    outcomes = [Outcome.account_id == account.id]
    if projects is not None:
        outcomes.append(Outcome.project_id.in_(projects.scalar_subquery()))
    conn.execute(update(Outcome).where(*outcomes).values(currency=entry_currency))
    f = Figures.of(session, account, utcnow())
    seconds = f.rounded(te.duration_seconds)
    billed = func.coalesce(te.billable_seconds, seconds)
    billable = and_(te.billable.is_(True), te.billable_rate.is_not(None))
    values = {
        "rounded_seconds": seconds,
        "billable_minor": case(
            (billable, f.amount(te.billable_rate, billed, te.currency)), else_=0
        ),
        "cost_minor": case(
            (te.cost_rate.is_not(None), f.amount(te.cost_rate, seconds, te.currency)), else_=0
        ),
    }
    result = conn.execute(update(TimeEntry).where(*scope).values(**values, **keep))
    rebuild_spending(session, account.id, projects)
    rebuild_day_time(session, account.id, projects)
    return int(result.rowcount)


def rebuild_spending(
    session: Session, account_id: uuid.UUID, projects: Select[Any] | None = None
) -> None:
    """ProjectSpending of an account's projects (a select of ids; None for all) from scratch."""
    ps = ProjectSpending

    def mine(row: Any) -> list[ColumnElement[bool]]:
        where = [row.account_id == account_id]
        if projects is not None:
            where.append(row.project_id.in_(projects.scalar_subquery()))
        return where

    zero = literal_column("0", BigInteger)
    te, ex = TimeEntry, Expense
    time = select(
        te.project_id,
        month_start(te.spent_date).label("month"),
        Figures.hours(te.rounded_seconds.expression).label("hours"),
        te.billable_minor.label("billable_minor"),
        zero.label("outcome_revenue"),
        zero.label("expense_billable"),
    ).where(*mine(te), ~te.is_running.expression)
    won = select(
        Outcome.project_id,
        month_start(Outcome.spent_date),
        zero,
        zero,
        case((Outcome.success.is_(True), raw(Outcome.amount)), else_=0),
        zero,
    ).where(*mine(Outcome))
    spent = select(
        ex.project_id,
        month_start(ex.spent_date),
        zero,
        zero,
        zero,
        case((ex.billable.is_(True), raw(ex.total_cost)), else_=0),
    ).where(*mine(ex))
    rows = union_all(time, won, spent).subquery()
    totals = select(
        rows.c.project_id,
        rows.c.month,
        literal(account_id, Uuid),
        *(func.sum(rows.c[name]) for name in SPENDING),
    ).group_by(rows.c.project_id, rows.c.month)
    conn = session.connection()
    conn.execute(delete(ps).where(*mine(ps)))
    conn.execute(insert(ps).from_select(["project_id", "month", "account_id", *SPENDING], totals))


def rebuild_day_time(
    session: Session, account_id: uuid.UUID, projects: Select[Any] | None = None
) -> None:
    """UserDayTime of an account from scratch: every user and day, or (with a select of
    project ids) the users' days that have time on those projects."""
    te, days = TimeEntry, UserDayTime
    scope: list[ColumnElement[bool]] = []
    gone = [days.account_id == account_id]
    if projects is not None:
        touched = select(te.user_id, te.spent_date).where(
            te.account_id == account_id, te.project_id.in_(projects.scalar_subquery())
        )
        scope.append(tuple_(te.user_id, te.spent_date).in_(touched))
        gone.append(tuple_(days.user_id, days.spent_date).in_(touched))
    hours = Figures.hours(te.rounded_seconds.expression)
    totals = (
        select(
            literal(account_id, Uuid),
            te.user_id,
            te.spent_date,
            te.currency,
            func.count(),
            func.sum(Figures.hours(te.duration_seconds.expression)),
            func.sum(hours),
            func.sum(case((te.billable.is_(True), hours), else_=0)),
            func.sum(te.billable_minor),
            func.sum(te.cost_minor),
        )
        .where(te.account_id == account_id, ~te.is_running.expression, *scope)
        .group_by(te.user_id, te.spent_date, te.currency)
    )
    conn = session.connection()
    conn.execute(delete(days).where(*gone))
    columns = ["account_id", "user_id", "spent_date", "currency", *UserDayTime.MEASURES]
    conn.execute(insert(days).from_select(columns, totals))


@dataclass(frozen=True, eq=False)
class Rollup:
    """Totals kept per key: `adds` says what a row (its attributes as a reader gives them)
    adds to which key, in the order of `keys` and `measures`, or None."""

    model: Any
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    adds: Callable[[Any, Callable[[str], Any]], tuple[tuple[Any, ...], list[int]] | None]


def _spending(row: Any, value: Callable[[str], Any]) -> tuple[Any, list[int]] | None:
    """What a row adds to its project's month (ProjectSpending)."""
    if isinstance(row, TimeEntry):
        if value("is_running"):
            return None  # running time is measured live
        figures = [hours_of(value("rounded_seconds")), value("billable_minor"), 0, 0]
    elif isinstance(row, Outcome):
        figures = [0, 0, _scaled(value("amount")) if value("success") else 0, 0]
    elif isinstance(row, Expense):
        figures = [0, 0, 0, _scaled(value("total_cost")) if value("billable") else 0]
    else:
        return None
    return (value("account_id"), value("project_id"), value("spent_date").replace(day=1)), figures


def _day_time(row: Any, value: Callable[[str], Any]) -> tuple[Any, list[int]] | None:
    """What a finished time entry adds to its user's day (UserDayTime)."""
    if not isinstance(row, TimeEntry) or value("is_running"):
        return None
    hours = hours_of(value("rounded_seconds"))
    key = (value("account_id"), value("user_id"), value("spent_date"), value("currency"))
    figures = [
        1,
        hours_of(value("duration_seconds")),
        hours,
        hours if value("billable") else 0,
        value("billable_minor"),
        value("cost_minor"),
    ]
    return key, figures


ROLLUPS = (
    Rollup(ProjectSpending, ("account_id", "project_id", "month"), SPENDING, _spending),
    Rollup(
        UserDayTime,
        ("account_id", "user_id", "spent_date", "currency"),
        UserDayTime.MEASURES,
        _day_time,
    ),
)
# (rollup, key) -> its measures
Deltas = dict[tuple[Rollup, tuple[Any, ...]], list[int]]


def _scaled(amount: Decimal | None) -> int:
    return 0 if amount is None else int(amount.scaleb(AMOUNT_SCALE))


def _before(row: Any) -> Callable[[str], Any]:
    """A row's attribute as it was loaded (before this flush's changes)."""
    attrs = inspect(row).attrs

    def value(name: str) -> Any:
        history = attrs[name].history
        if history.deleted:
            return history.deleted[0]
        return history.unchanged[0] if history.unchanged else getattr(row, name)

    return value


def _current(row: Any) -> Callable[[str], Any]:
    def value(name: str) -> Any:
        return getattr(row, name)

    return value


def _deltas(new: Iterable[Any], dirty: Iterable[Any] = (), deleted: Iterable[Any] = ()) -> Deltas:
    """What writing these rows adds to the kept totals."""
    deltas: Deltas = {}

    def add(row: Any, value: Callable[[str], Any], sign: int) -> None:
        for rollup in ROLLUPS:
            found = rollup.adds(row, value)
            if found is not None:
                key, figures = found
                total = deltas.setdefault((rollup, key), [0] * len(rollup.measures))
                for i, figure in enumerate(figures):
                    total[i] += sign * int(figure or 0)

    for row in new:
        add(row, _current(row), 1)
    for row in dirty:
        add(row, _before(row), -1)
        add(row, _current(row), 1)
    for row in deleted:
        add(row, _before(row), -1)
    return {key: figures for key, figures in deltas.items() if any(figures)}


@cache
def _add_to(dialect: str, rollup: Rollup) -> Any:
    """INSERT a key's totals, or add to the ones there (built once: it is on every write)."""
    stmt = upsert(dialect, rollup.model)
    table = rollup.model.__table__
    return stmt.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key],
        set_={name: table.c[name] + stmt.excluded[name] for name in rollup.measures},
    )


def _apply(session: Session, deltas: Deltas) -> None:
    conn = session.connection()
    # Rollup by rollup, each in key order: two writes that add to the same totals lock
    # them in the same order, so neither holds one while it waits for the other's.
    ordered = sorted(deltas.items(), key=lambda item: [str(part) for part in item[0][1]])
    for rollup in ROLLUPS:
        rows = [
            {
                **dict(zip(rollup.keys, key, strict=True)),
                **dict(zip(rollup.measures, figures, strict=True)),
            }
            for (kept, key), figures in ordered
            if kept is rollup
        ]
        if rows:
            conn.execute(_add_to(conn.dialect.name, rollup), rows)


def _changed(row: Any, *names: str) -> bool:
    attrs = inspect(row).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _rounding_changed(account: Account) -> bool:
    history = inspect(account).attrs["settings"].history
    if not history.has_changes():
        return False
    old = Account(settings=(history.deleted or [None])[0] or {})
    before, after = AccountSettings.of(old), AccountSettings.of(account)
    return (before.rounding_mode, before.rounding_increment) != (
        after.rounding_mode,
        after.rounding_increment,
    )


Scope = tuple[uuid.UUID, "Select[Any] | None"]  # an account, a select of its project ids


def _stale_scopes(session: Session) -> list[Scope]:
    """The entries whose figures this flush's changes of accounts, projects and clients make
    stale: (account, which of its projects; None for all)."""
    stale: list[Scope] = []
    for row in session.dirty:
        if isinstance(row, Account) and (_changed(row, "currency") or _rounding_changed(row)):
            stale.append((row.id, None))
        elif isinstance(row, Project) and _changed(row, "currency", "client_id"):
            stale.append((row.account_id, select(Project.id).where(Project.id == row.id)))
        elif isinstance(row, Client) and _changed(row, "currency"):
            stale.append((row.account_id, select(Project.id).where(Project.client_id == row.id)))
    return stale


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    # Set, not added to: what a failed flush left here was never written.
    session.info[_STALE] = _stale_scopes(session)
    entries = [row for row in (*session.new, *session.dirty) if isinstance(row, TimeEntry)]
    viewers: dict[uuid.UUID, Viewer] = {}
    now = utcnow()
    with session.no_autoflush:
        for entry in entries:
            viewer = viewers.get(entry.account_id)
            if viewer is None:
                account = session.get(Account, entry.account_id)
                assert account is not None
                viewer = viewers[entry.account_id] = Viewer(account, now)
            store(entry, viewer)
    session.info[_DELTAS] = _deltas(session.new, session.dirty, session.deleted)


@event.listens_for(Session, "after_flush_postexec")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    deltas: Deltas = session.info.pop(_DELTAS, {})
    if deltas:
        _apply(session, deltas)
    # after the deltas: a rebuild counts this flush's rows itself
    stale: list[Scope] = session.info.pop(_STALE, [])
    with session.no_autoflush:
        for account_id, projects in stale:
            account = session.get(Account, account_id)
            if account is not None:
                recompute(session, account, projects)
