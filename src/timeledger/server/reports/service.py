"""Reports: Harvest-style time and expense summaries, uninvoiced work, project budgets, the
agent summary and time-entry stats. Every figure is summed in SQL (reports/sql.py) over the
caller's visible rows (members see their own) with the same filters as the lists, and
equals the sum of the per-row figures the lists show."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    cast,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session

from timeledger.server.accounts.models import User, person_name
from timeledger.server.catalog.models import Client, Project, Task
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.crud import MAX_PER_PAGE, Page, scoped
from timeledger.server.core.errors import ValidationFailed
from timeledger.server.core.ids import parse_id
from timeledger.server.expenses import service as expenses
from timeledger.server.expenses.models import ExpenseCategory
from timeledger.server.reports import budget
from timeledger.server.reports.schemas import ReportQuery, check_range
from timeledger.server.reports.sql import (
    MODEL_COST_SCALE,
    WEEKDAYS,
    Cube,
    Figures,
    from_scaled,
)
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.schemas import EntryFilters
from timeledger.server.tracking.views import Viewer

# --- plumbing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    view: Viewer
    figures: Figures
    cube: Cube


def _context(session: Session, actor: Actor, query: ReportQuery) -> Context:
    view = tracking.viewer(session, actor)
    figures = Figures.of(session, view.account, view.now)
    entry_filters, expense_filters = query.entries(), query.expenses()
    if entry_filters is None:
        entries: ColumnElement[bool] = false()
    else:
        entries = _where(
            tracking.apply_filters(tracking.visible_entries(actor), entry_filters, view)
        )
    if expense_filters is None:
        spent: ColumnElement[bool] = false()
    else:
        spent = _where(
            expenses.apply_filters(
                expenses.visible_expenses(actor), expense_filters, actor.account_id
            )
        )
    cube = Cube(
        figures,
        entries=entries,
        expenses=spent,
        outcome_from=query.from_,
        outcome_to=query.to,
        week_first=WEEKDAYS.index(view.account.week_start_day),
        days=None if entry_filters is None else _days(actor, entry_filters),
    )
    return Context(view, figures, cube)


# The filters the kept user-day totals can answer; any other needs the entries themselves.
_DAY_FILTERS = {"user_id", "from_", "to"}


def _days(actor: Actor, filters: EntryFilters) -> Callable[[Any], ColumnElement[bool]] | None:
    """The caller's selection (tracking.visible_to and the filters) on a table of
    people and dates (the kept user-day totals, outcomes), or None when a filter asks what
    only entries know."""
    if filters.model_dump(exclude_none=True).keys() - _DAY_FILTERS:
        return None
    uid = None if filters.user_id is None else parse_id(filters.user_id)

    def on(table: Any) -> ColumnElement[bool]:
        where = tracking.visible_to(actor, table)
        if filters.user_id is not None:  # an id that is no UUID matches nothing
            where.append(table.user_id == uid if uid else false())
        if filters.from_ is not None:
            where.append(table.spent_date >= filters.from_)
        if filters.to is not None:
            where.append(table.spent_date <= filters.to)
        return and_(*where)

    return on


def _where(stmt: Select[Any]) -> ColumnElement[bool]:
    clause = stmt.whereclause
    assert clause is not None  # visibility always scopes to the account
    return clause


def _check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise ValidationFailed("page must be 1 or greater", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationFailed(f"per_page must be between 1 and {MAX_PER_PAGE}", field="per_page")


def _run(session: Session, stmt: Select[Any]) -> Sequence[RowMapping]:
    try:
        return session.execute(stmt).mappings().all()
    except (OperationalError, DataError) as exc:
        if "overflow" in str(exc.orig) or "out of range" in str(exc.orig):
            raise ValidationFailed(
                "the figures of this selection are too large to sum exactly; narrow it",
                field="from",
            ) from None
        raise


def _paged(
    session: Session, stmt: Select[Any], page: int, per_page: int
) -> tuple[Sequence[RowMapping], int]:
    """One page of a grouped query, with the number of rows in all pages from the same
    statement (a window count), so the grouping runs once."""
    _check_paging(page, per_page)
    counted = stmt.add_columns(func.count().over().label("_rows"))
    rows = _run(session, counted.limit(per_page).offset((page - 1) * per_page))
    if rows:
        return rows, int(rows[0]["_rows"])
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return rows, int(total or 0)


def _hours(value: Any) -> Decimal:
    """Summed hours (ten-thousandths, see sql.Figures.hours) as a Decimal."""
    return from_scaled(value, 4)


# --- time -------------------------------------------------------------------------------------

TIME = (
    "entries",
    "hours",
    "billable_hours",
    "billable_minor",
    "cost_minor",
    "outcomes",
    "successful_outcomes",
    "outcome_revenue",
)


@dataclass(frozen=True)
class TimeRow:
    """One line of a time report: a client, project, task or user in one currency. Hours
    are rounded hours as billed; billable and cost amounts are time only, outcome revenue
    is the revenue of successful outcomes."""

    id: uuid.UUID | None
    name: str | None
    currency: str
    entries: int
    total_hours: Decimal
    billable_hours: Decimal
    billable_amount: Decimal
    cost_amount: Decimal
    outcomes: int
    successful_outcomes: int
    outcome_revenue: Decimal
    client_id: uuid.UUID | None = None
    client_name: str | None = None
    is_contractor: bool = False
    weekly_capacity: int | None = None
    user_type: str | None = None

    @property
    def total_revenue(self) -> Decimal:
        return self.billable_amount + self.outcome_revenue


_TIME_KEYS = {"clients": "client", "projects": "project", "tasks": "task", "team": "user"}


def _named(key: str, grouped: Any) -> tuple[Select[Any], list[Any]]:
    """The grouped rows joined to the names of their key, and the order they list in."""
    ref = grouped.c[key]
    if key == "user":
        stmt = select(
            grouped,
            User.first_name,
            User.last_name,
            User.email,
            User.is_contractor,
            User.weekly_capacity,
            User.user_type,
        ).join(User, User.id == ref)
        return stmt, [User.first_name.nulls_last(), User.last_name.nulls_last(), User.email]
    if key == "project":
        stmt = (
            select(grouped, Project.name, Project.client_id, Client.name.label("client_name"))
            .join(Project, Project.id == ref)
            .outerjoin(Client, Client.id == Project.client_id)
        )
        return stmt, [Client.name.nulls_last(), Project.name]
    if key == "client":
        stmt = select(grouped, Client.name).outerjoin(Client, Client.id == ref)
        return stmt, [Client.name.nulls_last()]
    if key == "task":
        stmt = select(grouped, Task.name).join(Task, Task.id == ref)
        return stmt, [Task.name]
    if key == "category":
        stmt = select(grouped, ExpenseCategory.name).join(
            ExpenseCategory, ExpenseCategory.id == ref
        )
        return stmt, [ExpenseCategory.name]
    return select(grouped), []


def _name_of(key: str, row: RowMapping) -> str | None:
    if key == "user":
        return person_name(row["first_name"], row["last_name"], row["email"])
    name: str | None = row.get("name")
    return name


def time_report(
    session: Session, actor: Actor, query: ReportQuery, by: str, *, page: int, per_page: int
) -> Page[TimeRow]:
    query.require_range()
    ctx = _context(session, actor, query)
    key = _TIME_KEYS[by]
    grouped = ctx.cube.query([key], TIME).subquery()
    stmt, order = _named(key, grouped)
    stmt = stmt.order_by(*order, grouped.c[key], grouped.c.currency)
    rows, total = _paged(session, stmt, page, per_page)
    items = [_time_row(key, row, ctx.figures) for row in rows]
    return Page(items, total, page, per_page)


def _time_row(key: str, row: RowMapping, figures: Figures) -> TimeRow:
    currency = row["currency"]
    extra: dict[str, Any] = {}
    if key == "project":
        extra = {"client_id": row["client_id"], "client_name": row["client_name"]}
    if key == "user":
        extra = {
            "is_contractor": bool(row["is_contractor"]),
            "weekly_capacity": row["weekly_capacity"],
            "user_type": row["user_type"],
        }
    return TimeRow(
        id=row[key],
        name=_name_of(key, row),
        currency=currency,
        entries=int(row["entries"]),
        total_hours=_hours(row["hours"]),
        billable_hours=_hours(row["billable_hours"]),
        billable_amount=figures.from_minor(row["billable_minor"], currency),
        cost_amount=figures.from_minor(row["cost_minor"], currency),
        outcomes=int(row["outcomes"]),
        successful_outcomes=int(row["successful_outcomes"]),
        outcome_revenue=from_scaled(row["outcome_revenue"]),
        **extra,
    )


# --- expenses ---------------------------------------------------------------------------------

_EXPENSE_KEYS = {
    "clients": "client",
    "projects": "project",
    "categories": "category",
    "team": "user",
}


@dataclass(frozen=True)
class ExpenseRow:
    id: uuid.UUID | None
    name: str | None
    currency: str
    expenses: int
    total_amount: Decimal
    billable_amount: Decimal
    client_id: uuid.UUID | None = None
    client_name: str | None = None
    is_contractor: bool = False
    weekly_capacity: int | None = None
    user_type: str | None = None


def expense_report(
    session: Session, actor: Actor, query: ReportQuery, by: str, *, page: int, per_page: int
) -> Page[ExpenseRow]:
    query.require_range()
    ctx = _context(session, actor, query)
    key = _EXPENSE_KEYS[by]
    grouped = ctx.cube.query([key], ("expenses", "expense_total", "expense_billable")).subquery()
    stmt, order = _named(key, grouped)
    stmt = stmt.order_by(*order, grouped.c[key], grouped.c.currency)
    rows, total = _paged(session, stmt, page, per_page)
    items = []
    for row in rows:
        extra: dict[str, Any] = {}
        if key == "project":
            extra = {"client_id": row["client_id"], "client_name": row["client_name"]}
        if key == "user":
            extra = {
                "is_contractor": bool(row["is_contractor"]),
                "weekly_capacity": row["weekly_capacity"],
                "user_type": row["user_type"],
            }
        items.append(
            ExpenseRow(
                id=row[key],
                name=_name_of(key, row),
                currency=row["currency"],
                expenses=int(row["expenses"]),
                total_amount=from_scaled(row["expense_total"]),
                billable_amount=from_scaled(row["expense_billable"]),
                **extra,
            )
        )
    return Page(items, total, page, per_page)


# --- uninvoiced -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UninvoicedRow:
    project_id: uuid.UUID
    project_name: str
    client_id: uuid.UUID | None
    client_name: str | None
    currency: str
    total_hours: Decimal
    uninvoiced_hours: Decimal
    uninvoiced_time: Decimal
    uninvoiced_outcomes: Decimal
    uninvoiced_expenses: Decimal

    @property
    def uninvoiced_amount(self) -> Decimal:
        return self.uninvoiced_time + self.uninvoiced_outcomes + self.uninvoiced_expenses


def uninvoiced(
    session: Session, actor: Actor, query: ReportQuery, *, page: int, per_page: int
) -> Page[UninvoicedRow]:
    """Billable work not yet on an invoice, per project: time, successful outcomes and
    billable expenses."""
    ctx = _context(session, actor, query)
    measures = (
        "hours",
        "uninvoiced_hours",
        "uninvoiced_minor",
        "uninvoiced_outcome_revenue",
        "uninvoiced_expenses",
    )
    grouped = ctx.cube.query(["project"], measures).subquery()
    stmt, order = _named("project", grouped)
    open_work = or_(
        grouped.c.uninvoiced_hours > 0,
        grouped.c.uninvoiced_minor > 0,
        grouped.c.uninvoiced_outcome_revenue > 0,
        grouped.c.uninvoiced_expenses > 0,
    )
    stmt = stmt.where(open_work).order_by(*order, grouped.c.project, grouped.c.currency)
    rows, total = _paged(session, stmt, page, per_page)
    items = [
        UninvoicedRow(
            project_id=row["project"],
            project_name=row["name"],
            client_id=row["client_id"],
            client_name=row["client_name"],
            currency=row["currency"],
            total_hours=_hours(row["hours"]),
            uninvoiced_hours=_hours(row["uninvoiced_hours"]),
            uninvoiced_time=ctx.figures.from_minor(row["uninvoiced_minor"], row["currency"]),
            uninvoiced_outcomes=from_scaled(row["uninvoiced_outcome_revenue"]),
            uninvoiced_expenses=from_scaled(row["uninvoiced_expenses"]),
        )
        for row in rows
    ]
    return Page(items, total, page, per_page)


# --- project budgets --------------------------------------------------------------------------


def project_budgets(
    session: Session, actor: Actor, query: ReportQuery, *, page: int, per_page: int
) -> Page[budget.Status]:
    """Budget against spending of every project that has a budget, as of `to` (default
    today in the account's zone): all spending up to then, or that month's for monthly
    budgets. Filters: project_id, client_id; other filters do not apply to budgets. Members
    see the projects that show their budget to all."""
    _check_paging(page, per_page)
    view = tracking.viewer(session, actor)
    stmt = scoped(Project, actor.account_id).where(Project.budget_by != "none")
    if actor.role < Role.manager:  # members see the budgets shown to everyone
        stmt = stmt.where(Project.show_budget_to_all.is_(True))
    if query.project_id is not None:
        stmt = stmt.where(Project.id == parse_id(query.project_id))
    if query.client_id is not None:
        stmt = stmt.where(Project.client_id == parse_id(query.client_id))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    projects = list(
        session.scalars(
            stmt.order_by(Project.name, Project.id).limit(per_page).offset((page - 1) * per_page)
        )
    )
    as_of = query.to or view.now.astimezone(view.zone).date()
    figures = Figures.of(session, view.account, view.now)
    return Page(budget.measure(session, figures, projects, as_of), total, page, per_page)


# --- agent summary ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """What one user (an agent or a person) did, earned and cost in one currency."""

    currency: str | None
    entries: int = 0
    total_hours: Decimal = Decimal(0)
    billable_hours: Decimal = Decimal(0)
    time_revenue: Decimal = Decimal(0)
    outcomes: int = 0
    successful_outcomes: int = 0
    outcome_revenue: Decimal = Decimal(0)
    model_cost: Decimal = Decimal(0)
    expense_cost: Decimal = Decimal(0)
    labor_cost: Decimal = Decimal(0)

    @property
    def total_revenue(self) -> Decimal:
        return self.time_revenue + self.outcome_revenue

    @property
    def total_cost(self) -> Decimal:
        return self.model_cost + self.expense_cost + self.labor_cost

    @property
    def margin(self) -> Decimal:
        return self.total_revenue - self.total_cost

    @property
    def margin_percent(self) -> Decimal | None:
        if not self.total_revenue:
            return None
        return (self.margin * 100 / self.total_revenue).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def __add__(self, other: Summary) -> Summary:
        numbers = {
            name: getattr(self, name) + getattr(other, name)
            for name in Summary.__dataclass_fields__
            if name != "currency"
        }
        return Summary(currency=None, **numbers)


@dataclass(frozen=True)
class AgentSummary:
    user: User
    from_: date
    to: date
    total: Summary
    by_currency: list[Summary] = field(default_factory=list)


def agent_summary(session: Session, actor: Actor, query: ReportQuery) -> AgentSummary:
    """Time, outcomes, revenue, cost and margin of one user over a range (the Keito Node
    SDK's agentSummary shape, computed by the server). Cost is the model cost agents report
    in metadata (`model.cost_usd`, or a flat `cost_usd`), their expenses, and labour (hours
    x cost rate). With work in several currencies, `total` adds them up with no currency and
    `by_currency` holds each."""
    query.require_range()
    user = _summary_user(session, actor, query.user_id)
    query = query.model_copy(update={"user_id": str(user.id)})
    ctx = _context(session, actor, query)
    measures = (
        "entries",
        "hours",
        "billable_hours",
        "billable_minor",
        "cost_minor",
        "model_cost",
        "outcomes",
        "successful_outcomes",
        "outcome_revenue",
        "expense_total",
    )
    rows = _run(session, ctx.cube.query([], measures).order_by(literal_column("currency")))
    parts = [
        Summary(
            currency=row["currency"],
            entries=int(row["entries"]),
            total_hours=_hours(row["hours"]),
            billable_hours=_hours(row["billable_hours"]),
            time_revenue=ctx.figures.from_minor(row["billable_minor"], row["currency"]),
            outcomes=int(row["outcomes"]),
            successful_outcomes=int(row["successful_outcomes"]),
            outcome_revenue=from_scaled(row["outcome_revenue"]),
            model_cost=from_scaled(row["model_cost"], MODEL_COST_SCALE),
            expense_cost=from_scaled(row["expense_total"]),
            labor_cost=ctx.figures.from_minor(row["cost_minor"], row["currency"]),
        )
        for row in rows
        if row["entries"] or row["expense_total"] or row["outcomes"]
    ]
    if not parts:
        total = Summary(currency=ctx.view.account.currency)
    elif len(parts) == 1:
        total = parts[0]
    else:
        total = parts[0]
        for part in parts[1:]:
            total = total + part
    assert query.from_ is not None and query.to is not None
    return AgentSummary(user=user, from_=query.from_, to=query.to, total=total, by_currency=parts)


def _summary_user(session: Session, actor: Actor, user_id: str | None) -> User:
    if user_id is None:
        user = session.get(User, actor.user_id)
        assert user is not None
        return user
    uid = parse_id(user_id)
    user = session.get(User, uid) if uid else None
    if user is None or user.account_id != actor.account_id:
        raise ValidationFailed("user_id does not name a user of this account", field="user_id")
    if user.id != actor.user_id:
        actor.require(Role.manager, "reading other users' summaries")
    return user


# --- stats ------------------------------------------------------------------------------------

STATS = ("entries", "raw_hours", "hours", "billable_hours", "billable_minor", "cost_minor")
_STATS_KEYS = {
    "day": "day",
    "week": "week",
    "month": "month",
    "user": "user",
    "project": "project",
    "task": "task",
    "client": "client",
    "source": "source",
}


@dataclass(frozen=True)
class StatsRow:
    """Totals of one group (or of everything, when key is None) in one currency."""

    key: Any
    name: str | None
    currency: str
    count: int
    hours: Decimal
    rounded_hours: Decimal
    billable_hours: Decimal
    billable_amount: Decimal
    cost_amount: Decimal


@dataclass(frozen=True)
class Stats:
    group_by: str | None
    groups: list[StatsRow]
    totals: list[StatsRow]


def entry_stats(
    session: Session, actor: Actor, filters: EntryFilters, group_by: str | None
) -> Stats:
    """Time-entry totals, optionally grouped by a day, week (from the account's week start),
    month, user, project, task, client or source; days are the entries' spent_date, which is
    in the account's zone. One statement: the groups, and the totals summed from them."""
    if group_by is not None and group_by not in _STATS_KEYS:
        raise ValidationFailed(
            f"group_by must be one of {', '.join(_STATS_KEYS)}", field="group_by"
        )
    check_range(filters.from_, filters.to)
    view = tracking.viewer(session, actor)
    figures = Figures.of(session, view.account, view.now)
    where = _where(tracking.apply_filters(tracking.visible_entries(actor), filters, view))
    cube = Cube(
        figures,
        entries=where,
        week_first=WEEKDAYS.index(view.account.week_start_day),
        days=_days(actor, filters),
    )
    keys = [] if group_by is None else [_STATS_KEYS[group_by]]
    groups = cube.query(keys, STATS).cte("groups")
    key = groups.c[keys[0]] if keys else literal_column("NULL")
    per_group = select(
        literal_column("0").label("is_total"),
        key.label("key"),
        groups.c.currency,
        *(groups.c[m] for m in STATS),
    )
    totals = select(
        literal_column("1").label("is_total"),
        (cast(null(), key.type) if keys else null()).label("key"),
        groups.c.currency,
        *(func.sum(groups.c[m]).label(m) for m in STATS),
    ).group_by(groups.c.currency)
    both = (per_group.union_all(totals) if keys else totals).subquery()
    rows = _run(session, select(both).order_by(both.c.is_total, both.c.key, both.c.currency))
    names = _names(session, keys[0] if keys else "", {r["key"] for r in rows if not r["is_total"]})
    result: dict[bool, list[StatsRow]] = {False: [], True: []}
    for row in rows:
        total = bool(row["is_total"])
        value = None if total else row["key"]
        currency = row["currency"]
        result[total].append(
            StatsRow(
                key=value,
                name=None if value is None else names.get(value),
                currency=currency,
                count=int(row["entries"] or 0),
                hours=_hours(row["raw_hours"]),
                rounded_hours=_hours(row["hours"]),
                billable_hours=_hours(row["billable_hours"]),
                billable_amount=figures.from_minor(row["billable_minor"], currency),
                cost_amount=figures.from_minor(row["cost_minor"], currency),
            )
        )
    return Stats(group_by=group_by, groups=result[False], totals=result[True])


def _names(session: Session, key: str, ids: set[Any]) -> dict[Any, str]:
    """Display names of the grouped ids (users, projects, tasks, clients)."""
    ids.discard(None)
    if not ids or key not in ("user", "project", "task", "client"):
        return {}
    if key == "user":
        users = select(User.id, User.first_name, User.last_name, User.email)
        return {
            row[0]: person_name(row[1], row[2], row[3])
            for row in session.execute(users.where(User.id.in_(ids)))
        }
    model: Any = {"project": Project, "task": Task, "client": Client}[key]
    stmt = select(model.id, model.name).where(model.id.in_(ids))
    return {row[0]: row[1] for row in session.execute(stmt)}
