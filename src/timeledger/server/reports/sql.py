"""The figures of reports, computed in SQL on both engines, equal to the per-row figures the
list endpoints show.

Per time entry the list shows (tracking/views.py): seconds (a running timer's live time up to
now, or up to its auto-stop), rounded seconds (the account's rounding), hours to 4 places,
and amounts = rate x rounded hours, half-up to the currency's minor unit. Here the same is
one SQL expression per row, in integers (hours as ten-thousandths, amounts as):

    amount in minor units = floor((2 * rate4 * rounded + D) / (2 * D)),  D = 3600 * 10^(4-m)

where rate4 is the stored rate (4 decimal places, as a scaled integer) and m the currency's
minor units; summing those gives report totals equal to the sum of the amounts the list
shows. On PostgreSQL the product is NUMERIC, so no rate can overflow it.

The currency of a row is its project's, else its client's, else the account's. When every
project of the account resolves to one currency (the usual case) that is a constant and no
join is needed; otherwise the rows are joined to their project and client.

`Cube` builds the grouped query every report is made of: time entries, outcomes and
expenses, each aggregated by the report's keys and currency, then summed together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from timeledger.server.accounts.models import Account
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.catalog.models import Client, Project
from timeledger.server.core.money import AMOUNT_SCALE, UNIT_PRICE_SCALE, minor_units
from timeledger.server.expenses.models import Expense
from timeledger.server.outcomes.models import Outcome
from timeledger.server.reports.models import UserDayTime
from timeledger.server.tracking.models import TimeEntry

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
# Largest stored rate (4 places, as an integer) for which 2 x rate x seconds stays inside
# SQLite's 64-bit integers for any entry of up to a day rounded up.
SQLITE_SAFE_RATE = 50_000_000_000_000
MICROS = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Model costs (metadata cost_usd) are summed as integers of this many decimal places.
MODEL_COST_SCALE = UNIT_PRICE_SCALE
_MODEL_COST_LIMIT = 100_000_000  # |cost_usd| per entry beyond this is ignored, not summed


# --- dialect-specific pieces ------------------------------------------------------------------


class epoch_us(FunctionElement[int]):  # noqa: N801 (a SQL function)
    """Microseconds since 1970 of a UTCDateTime column."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_us, "sqlite")
def _epoch_us_sqlite(element: epoch_us, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC): whole seconds, then the micros.
    arg = compiler.process(next(iter(element.clauses)), **kw)
    return (
        f"(CAST(strftime('%s', {arg}) AS INTEGER) * {MICROS} "
        f"+ CAST(substr({arg}, 21, 6) AS INTEGER))"
    )


@compiles(epoch_us, "postgresql")
def _epoch_us_postgresql(element: epoch_us, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(next(iter(element.clauses)), **kw)
    return f"CAST(extract(epoch FROM {arg}) * {MICROS} AS BIGINT)"


class week_start(FunctionElement[date]):  # noqa: N801
    """The first day of the week a date is in; weeks start on weekday `first` (0 = Sunday)."""

    type = Date()
    inherit_cache = True

    def __init__(self, day: ColumnElement[date], first: int) -> None:
        super().__init__(day, literal_column(str(int(first)), Integer))


@compiles(week_start, "sqlite")
def _week_start_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    day, first = (compiler.process(c, **kw) for c in element.clauses)
    back = f"((CAST(strftime('%w', {day}) AS INTEGER) + 7 - {first}) % 7)"
    return f"date({day}, '-' || {back} || ' days')"


@compiles(week_start, "postgresql")
def _week_start_postgresql(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    day, first = (compiler.process(c, **kw) for c in element.clauses)
    return f"({day} - mod(CAST(extract(dow FROM {day}) AS INTEGER) + 7 - {first}, 7))"


class month_start(FunctionElement[date]):  # noqa: N801
    type = Date()
    inherit_cache = True


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(next(iter(element.clauses)), **kw)}, 'start of month')"


@compiles(month_start, "postgresql")
def _month_start_postgresql(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"CAST(date_trunc('month', {compiler.process(next(iter(element.clauses)), **kw)}) AS DATE)"
    )


class json_cost(FunctionElement[int]):  # noqa: N801
    """A number in a JSON column at a path, as an integer with MODEL_COST_SCALE decimals,
    or NULL when absent, not a number, or out of range (so bad metadata never fails a query)."""

    type = BigInteger()
    inherit_cache = True

    def __init__(self, column: Any, *path: str) -> None:
        # The path is written into the SQL: keep it to plain names.
        assert all(part.isidentifier() for part in path), path
        super().__init__(column)
        self.path = path


@compiles(json_cost, "sqlite")
def _json_cost_sqlite(element: json_cost, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    path = "$." + ".".join(element.path)
    value = f"json_extract({column}, '{path}')"
    return (
        f"(CASE WHEN json_type({column}, '{path}') IN ('integer', 'real') "
        f"AND abs({value}) < {_MODEL_COST_LIMIT} "
        f"THEN CAST(round({value} * 1e{MODEL_COST_SCALE}) AS INTEGER) END)"
    )


@compiles(json_cost, "postgresql")
def _json_cost_postgresql(element: json_cost, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    *parents, leaf = element.path
    node = column + "".join(f" -> '{part}'" for part in parents)
    value = f"CAST(({node} ->> '{leaf}') AS NUMERIC)"
    return (
        f"(CASE WHEN jsonb_typeof({node} -> '{leaf}') = 'number' "
        f"AND abs({value}) < {_MODEL_COST_LIMIT} "
        f"THEN CAST(round({value} * 1e{MODEL_COST_SCALE}) AS BIGINT) END)"
    )


def _model_cost() -> ColumnElement[int]:
    """An entry's model cost from its metadata: `model.cost_usd`, else a flat `cost_usd`."""
    return func.coalesce(
        json_cost(TimeEntry.meta, "model", "cost_usd"), json_cost(TimeEntry.meta, "cost_usd")
    )


def hours_of(seconds: int) -> int:
    """Figures.hours of one row, in Python."""
    return (seconds * 20000 + 3600) // 7200


def _running_ids() -> Select[Any]:
    """The ids of running timers, read from their partial index: as a subquery, so that no
    planner walks a whole account's index to find the few running rows."""
    running = aliased(TimeEntry)
    return select(running.id).where(running.is_running.expression)


def raw(column: Any) -> ColumnElement[int]:
    """A Fixed column as its stored scaled integer."""
    return type_coerce(column, BigInteger)


# --- one account at one instant ---------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The SQL of one account's figures at one instant (`now`, for running timers)."""

    dialect: str
    account: Account
    settings: AccountSettings
    now: datetime
    # Every currency the account's projects resolve to.
    currencies: tuple[str, ...]

    @classmethod
    def of(cls, session: Session, account: Account, now: datetime) -> Figures:
        p, c = aliased(Project), aliased(Client)
        stmt = (
            select(func.coalesce(p.currency, c.currency, account.currency))
            .select_from(p)
            .outerjoin(c, c.id == p.client_id)
            .where(p.account_id == account.id)
            .distinct()
        )
        found = {code for code in session.scalars(stmt) if code}
        return cls(
            dialect=session.get_bind().dialect.name,
            account=account,
            settings=AccountSettings.of(account),
            now=now,
            currencies=tuple(sorted(found or {account.currency})),
        )

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def single_currency(self) -> str | None:
        return self.currencies[0] if len(self.currencies) == 1 else None

    # -- time ----------------------------------------------------------------------------

    def seconds(self) -> ColumnElement[int]:
        """Seconds of an entry as the list shows them: a running timer counts up to now,
        or up to its auto-stop when it is past the account's limit."""
        now_us = (self.now - EPOCH) // timedelta(microseconds=1)
        elapsed: ColumnElement[int] = literal(now_us, BigInteger) - epoch_us(
            TimeEntry.timer_started_at
        )
        if self.settings.auto_stop is not None:
            limit = constant(self.settings.auto_stop // timedelta(microseconds=1))
            elapsed = case((elapsed > limit, limit), else_=elapsed)
        live = case((elapsed < 0, 0), else_=elapsed) // MICROS
        running = and_(TimeEntry.is_running, TimeEntry.timer_started_at.is_not(None))
        return case((running, TimeEntry.duration_seconds + live), else_=TimeEntry.duration_seconds)

    def rounded(self, seconds: ColumnElement[int]) -> ColumnElement[int]:
        """tracking.timing.round_seconds, in SQL."""
        mode, step = self.settings.rounding_mode, self.settings.rounding_increment * 60
        if mode == "none" or step <= 1:
            return seconds
        rest = seconds % step
        down = seconds - rest
        if mode == "down":
            return down
        if mode == "up":
            return case((rest == 0, seconds), else_=down + step)
        return case((rest * 2 >= step, down + step), else_=down)

    @staticmethod
    def hours(seconds: ColumnElement[int]) -> ColumnElement[int]:
        """An entry's hours as the list shows them, 4 places half-up (as an integer of
        ten-thousandths), so summed hours equal the sum of the hours listed."""
        return (seconds * 20000 + 3600) // 7200

    def amount(
        self, rate: Any, seconds: ColumnElement[int], currency: ColumnElement[str]
    ) -> ColumnElement[Any]:
        """rate x seconds/3600, half-up to the currency's minor unit, in minor units."""
        divisor = self._divisor(currency)
        if self.postgres:
            product = 2 * cast(raw(rate), Numeric) * seconds + divisor
            return func.div(product, 2 * divisor)
        # SQLite has 64-bit integers only. Rates up to SQLITE_SAFE_RATE keep the product in
        # range for any entry (24 h, rounded up); larger ones (up to MAX_AMOUNT) take the
        # same value in two steps: whole hours, then the remaining seconds.
        r = raw(rate)
        simple = (2 * r * seconds + divisor) // (2 * divisor)
        per_hour = divisor // 3600  # 10^(4 - minor units)
        whole, rest = seconds // 3600, seconds % 3600
        carry = (r * whole) % per_hour * 3600 + r * rest
        split = (r * whole) // per_hour + (2 * carry + divisor) // (2 * divisor)
        return case((r > SQLITE_SAFE_RATE, split), else_=simple)

    def _divisor(self, currency: ColumnElement[str]) -> ColumnElement[int]:
        def of(code: str) -> int:
            return 3600 * int(10 ** (AMOUNT_SCALE - minor_units(code)))

        single = self.single_currency
        if single is not None:
            return constant(of(single))
        odd = [
            (currency == constant(code), constant(of(code)))
            for code in self.currencies
            if minor_units(code) != 2
        ]
        default = constant(3600 * 10 ** (AMOUNT_SCALE - 2))
        return case(*odd, else_=default) if odd else default

    @staticmethod
    def amount_of(rate4: int, seconds: int, currency: str) -> int:
        """`amount` for one row in Python (exports): the same integers, the same result."""
        divisor = 3600 * int(10 ** (AMOUNT_SCALE - minor_units(currency)))
        return (2 * rate4 * seconds + divisor) // (2 * divisor)

    @staticmethod
    def from_minor(value: Any, currency: str) -> Decimal:
        return Decimal(int(value or 0)).scaleb(-minor_units(currency))


def from_scaled(value: Any, scale: int = AMOUNT_SCALE) -> Decimal:
    """A sum of Fixed(scale) integers as the Decimal it stands for."""
    return Decimal(int(value or 0)).scaleb(-scale)


# --- the cube ---------------------------------------------------------------------------------

TIME_MEASURES = frozenset(
    {
        "entries",
        "raw_hours",
        "hours",
        "billable_hours",
        "billable_minor",
        "cost_minor",
        "uninvoiced_hours",
        "uninvoiced_minor",
        "model_cost",
    }
)
OUTCOME_MEASURES = frozenset(
    {"outcomes", "successful_outcomes", "outcome_revenue", "uninvoiced_outcome_revenue"}
)
EXPENSE_MEASURES = frozenset(
    {"expenses", "expense_total", "expense_billable", "uninvoiced_expenses"}
)


@dataclass(frozen=True)
class Source:
    """What a key or measure reads: the row table (time entry or expense) and its project."""

    row: Any  # TimeEntry or Expense (the mapped class)
    project: Any  # an alias of Project
    client: Any  # an alias of Client
    currency: ColumnElement[str]


Key = Callable[[Source], ColumnElement[Any] | None]


def key(time: Callable[[Source], ColumnElement[Any]], expense: Key | None = None) -> Key:
    """A grouping key read from either source (None: it does not apply to expenses)."""

    def read(source: Source) -> ColumnElement[Any] | None:
        if source.row is Expense:
            return expense(source) if expense else None
        return time(source)

    return read


KEYS: dict[str, Key] = {
    "user": key(lambda s: s.row.user_id, lambda s: s.row.user_id),
    "project": key(lambda s: s.row.project_id, lambda s: s.row.project_id),
    "client": key(lambda s: s.project.client_id, lambda s: s.project.client_id),
    "task": key(lambda s: s.row.task_id),
    "category": key(lambda s: null(), lambda s: s.row.expense_category_id),
    "source": key(lambda s: s.row.source, lambda s: s.row.source),
    "day": key(lambda s: s.row.spent_date, lambda s: s.row.spent_date),
    "month": key(lambda s: month_start(s.row.spent_date), lambda s: month_start(s.row.spent_date)),
}
# Keys that need the row's project even when the currency is a constant.
_NEEDS_PROJECT = {"client"}
# Keys the kept user-day totals have.
DAY_KEYS = {"user", "day", "week", "month"}


def constant(value: int | str) -> ColumnElement[Any]:
    """A constant written into the SQL (a bound parameter in a UNION's select list or a GROUP
    BY would leave PostgreSQL guessing its type). Only integers and currency codes."""
    if isinstance(value, int):
        return literal_column(str(int(value)), BigInteger)
    if not (len(value) == 3 and value.isalpha() and value.isupper()):
        raise ValueError(f"not a currency code: {value!r}")
    return literal_column(f"'{value}'", String)


@dataclass
class Cube:
    """Grouped sums over time entries, outcomes and expenses. `entries` and `expenses` are
    the WHERE clauses of the caller's selection (visibility + filters) on each source."""

    figures: Figures
    entries: ColumnElement[bool] | None = None
    expenses: ColumnElement[bool] | None = None
    # Bounds repeated on the outcomes table so its own date index can drive the scan.
    outcome_from: date | None = None
    outcome_to: date | None = None
    week_first: int = 1
    # False: running timers only (the finished time is counted elsewhere: ProjectSpending).
    finished: bool = True
    # When the selection is only people and dates: its WHERE on a table that has account_id,
    # user_id and spent_date, so the kept user-day totals (UserDayTime) and the outcomes'
    # own columns answer it; None: sum the entries.
    days: Callable[[Any], ColumnElement[bool]] | None = None

    def key(self, name: str) -> Key:
        if name == "week":
            first = self.week_first
            return key(
                lambda s: week_start(s.row.spent_date, first),
                lambda s: week_start(s.row.spent_date, first),
            )
        return KEYS[name]

    def query(self, keys: Sequence[str], measures: Sequence[str]) -> Select[Any]:
        """One row per (keys..., currency) with the measures summed; key columns are
        labelled by name, plus `currency`."""
        wanted = set(measures)
        branches = []
        if wanted & TIME_MEASURES:
            branches += self._time(keys, wanted)
        if wanted & OUTCOME_MEASURES:
            branches.append(self._outcomes(keys, wanted))
        if wanted & EXPENSE_MEASURES:
            branches.append(self._expenses(keys, wanted))
        union = (branches[0] if len(branches) == 1 else union_all(*branches)).subquery()
        groups = [union.c[name] for name in [*keys, "currency"]]
        sums = [func.coalesce(func.sum(union.c[m]), 0).label(m) for m in measures]
        return select(*groups, *sums).group_by(*groups)

    def _branch(
        self,
        row: Any,
        keys: Sequence[str],
        wanted: set[str],
        measures: Callable[[Source], dict[str, ColumnElement[Any]]],
        where: list[ColumnElement[bool]],
        outcomes: bool = False,
    ) -> Select[Any]:
        """One source aggregated by the keys and currency; measures it does not have are 0.
        Rows of time entries carry their currency; expenses take their project's."""
        p, c = aliased(Project), aliased(Client)
        single = self.figures.single_currency
        joined = row is Expense and single is None
        if single is not None:
            currency = constant(single)
        elif joined:
            currency = func.coalesce(
                p.currency, c.currency, constant(self.figures.account.currency)
            )
        else:
            currency = row.currency.expression  # a time entry's, a user's day's, an outcome's
        source = Source(row=row, project=p, client=c, currency=currency)
        groups: list[ColumnElement[Any]] = []
        columns: list[ColumnElement[Any]] = []
        for name in keys:
            expr = self.key(name)(source)
            if expr is None:
                columns.append(null().label(name))
            else:
                groups.append(expr)
                columns.append(expr.label(name))
        if single is None:
            groups.append(currency)
        columns.append(currency.label("currency"))
        values = measures(source)
        columns += [values.get(m, constant(0)).label(m) for m in sorted(wanted)]
        stmt = select(*columns)
        if outcomes:
            stmt = stmt.select_from(Outcome).join(TimeEntry, TimeEntry.id == Outcome.id)
        else:
            stmt = stmt.select_from(row)
        if joined or _NEEDS_PROJECT & set(keys):
            stmt = stmt.join(p, p.id == row.project_id)
            if joined:
                stmt = stmt.outerjoin(c, c.id == p.client_id)
        return stmt.where(*where).group_by(*groups)

    def _time(self, keys: Sequence[str], wanted: set[str]) -> list[Select[Any]]:
        """Finished time sums the figures stored on each row (reports/derived.py) over the
        covering index, or the kept user-day totals when they answer the selection; running
        timers, a handful, are computed live up to now."""
        where = [] if self.entries is None else [self.entries]
        live = self._branch(
            TimeEntry,
            keys,
            wanted,
            lambda source: self._live_time(source, wanted),
            [*where, TimeEntry.id.in_(_running_ids())],
        )
        if not self.finished:
            return [live]
        days = UserDayTime
        on_days = self._people_and_dates(keys, days)
        if on_days is not None and wanted & TIME_MEASURES <= set(days.MEASURES):
            kept: dict[str, ColumnElement[Any]] = {
                m: func.sum(getattr(days, m)) for m in wanted & TIME_MEASURES
            }
            return [self._branch(days, keys, wanted, lambda _: kept, [on_days]), live]
        stored = self._branch(
            TimeEntry,
            keys,
            wanted,
            lambda source: self._stored_time(wanted),
            [*where, ~TimeEntry.is_running],
        )
        return [stored, live]

    def _people_and_dates(self, keys: Sequence[str], table: Any) -> ColumnElement[bool] | None:
        """The selection on `table` (the kept user-day totals, outcomes) when it is only
        people and dates and `table` has the keys; None: read the entries."""
        if self.days is None or not set(keys) <= DAY_KEYS:
            return None
        return self.days(table)

    def _stored_time(self, wanted: set[str]) -> dict[str, ColumnElement[Any]]:
        te = TimeEntry
        hours = self.figures.hours(te.rounded_seconds.expression)
        open_ = ~te.is_billed
        every: dict[str, Callable[[], ColumnElement[Any]]] = {
            "entries": lambda: func.count(),
            "raw_hours": lambda: func.sum(self.figures.hours(te.duration_seconds.expression)),
            "hours": lambda: func.sum(hours),
            "billable_hours": lambda: func.sum(case((te.billable.is_(True), hours), else_=0)),
            "billable_minor": lambda: func.sum(te.billable_minor),
            "cost_minor": lambda: func.sum(te.cost_minor),
            "uninvoiced_hours": lambda: func.sum(
                case((and_(te.billable.is_(True), open_), hours), else_=0)
            ),
            "uninvoiced_minor": lambda: func.sum(case((open_, te.billable_minor), else_=0)),
            "model_cost": lambda: func.sum(_model_cost()),
        }
        return {name: make() for name, make in every.items() if name in wanted}

    def _live_time(self, source: Source, wanted: set[str]) -> dict[str, ColumnElement[Any]]:
        f = self.figures
        te = TimeEntry
        raw_seconds = f.seconds()
        seconds = f.rounded(raw_seconds)
        billed = func.coalesce(te.billable_seconds, seconds)
        open_ = and_(te.billable.is_(True), ~te.is_billed)

        def amount(rate: Any, of: ColumnElement[int], when: ColumnElement[bool]) -> Any:
            return case((when, f.amount(rate, of, source.currency)), else_=0)

        billable = and_(te.billable.is_(True), te.billable_rate.is_not(None))
        every: dict[str, Callable[[], ColumnElement[Any]]] = {
            "entries": lambda: func.count(),
            "raw_hours": lambda: func.sum(f.hours(raw_seconds)),
            "hours": lambda: func.sum(f.hours(seconds)),
            "billable_hours": lambda: func.sum(
                case((te.billable.is_(True), f.hours(seconds)), else_=0)
            ),
            "billable_minor": lambda: func.sum(amount(te.billable_rate, billed, billable)),
            "cost_minor": lambda: func.sum(
                amount(te.cost_rate, seconds, te.cost_rate.is_not(None))
            ),
            "uninvoiced_hours": lambda: func.sum(case((open_, f.hours(seconds)), else_=0)),
            "uninvoiced_minor": lambda: func.sum(
                amount(te.billable_rate, billed, and_(open_, te.billable_rate.is_not(None)))
            ),
            "model_cost": lambda: func.sum(_model_cost()),
        }
        return {name: make() for name, make in every.items() if name in wanted}

    def _outcomes(self, keys: Sequence[str], wanted: set[str]) -> Select[Any]:
        def measures(_: Source) -> dict[str, ColumnElement[Any]]:
            amount = raw(Outcome.amount)
            won = Outcome.success.is_(True)
            open_won = and_(won, ~TimeEntry.is_billed)
            every: dict[str, Callable[[], ColumnElement[Any]]] = {
                "outcomes": lambda: func.count(),
                "successful_outcomes": lambda: func.sum(case((won, 1), else_=0)),
                "outcome_revenue": lambda: func.sum(case((won, amount), else_=0)),
                "uninvoiced_outcome_revenue": lambda: func.sum(case((open_won, amount), else_=0)),
            }
            return {name: make() for name, make in every.items() if name in wanted}

        on_outcomes = self._people_and_dates(keys, Outcome)
        if on_outcomes is not None and "uninvoiced_outcome_revenue" not in wanted:
            # The outcome's own copies of who, when and currency; billing is the entry's.
            return self._branch(Outcome, keys, wanted, measures, [on_outcomes])
        where = [] if self.entries is None else [self.entries]
        where.append(Outcome.account_id == self.figures.account.id)
        if self.outcome_from is not None:
            where.append(Outcome.spent_date >= self.outcome_from)
        if self.outcome_to is not None:
            where.append(Outcome.spent_date <= self.outcome_to)
        return self._branch(TimeEntry, keys, wanted, measures, where, outcomes=True)

    def _expenses(self, keys: Sequence[str], wanted: set[str]) -> Select[Any]:
        ex = Expense

        def measures(_: Source) -> dict[str, ColumnElement[Any]]:
            total = raw(ex.total_cost)
            open_ = and_(ex.billable.is_(True), ~ex.is_billed)
            every: dict[str, Callable[[], ColumnElement[Any]]] = {
                "expenses": lambda: func.count(),
                "expense_total": lambda: func.sum(total),
                "expense_billable": lambda: func.sum(case((ex.billable.is_(True), total), else_=0)),
                "uninvoiced_expenses": lambda: func.sum(case((open_, total), else_=0)),
            }
            return {name: make() for name, make in every.items() if name in wanted}

        where = [] if self.expenses is None else [self.expenses]
        return self._branch(ex, keys, wanted, measures, where)
