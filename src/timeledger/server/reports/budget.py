"""Project budgets: what a project may spend, what it has spent, and the one-time notice when
spending crosses the project's notification threshold.

- Hours budgets (budget_by project, task, person) count the rounded hours of every entry.
- Money budgets (project_cost, task_fees) count what is billed: billable time amounts plus
  the revenue of successful outcomes, plus billable expenses when the project says
  `cost_budget_include_expenses`.
- The budget is the project's own figure (`cost_budget` first for project_cost), else for
  task/task_fees/person budgets the sum of the task or user assignment budgets.
- Monthly budgets (`budget_is_monthly`) count one calendar month in the account's zone.

Crossing: writes of time entries and expenses mark the (project, month) they touched; just
before the transaction commits, each marked project with `notify_when_over_budget` is
measured once (from the monthly totals reports/derived.py keeps, plus running timers live,
so a write costs the same however big the project), and `project.budget_threshold_crossed`
is emitted when its use reached the threshold (`over_budget_notification_percentage`, 100
when unset) and no alert row exists for that period yet. The row is removed when use falls
below again, so each crossing is announced once, and a monthly budget's once per month."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Uuid,
    and_,
    bindparam,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import Session, lazyload

from timeledger.server.accounts.models import Account
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.catalog.models import Project, TaskAssignment, UserAssignment
from timeledger.server.core.clock import utcnow
from timeledger.server.core.money import in_minor_units
from timeledger.server.expenses.models import Expense
from timeledger.server.outbox.service import emit
from timeledger.server.reports.models import BudgetAlert, ProjectSpending
from timeledger.server.reports.sql import Cube, Figures, from_scaled, hours_of, raw
from timeledger.server.tracking.models import TimeEntry
from timeledger.server.tracking.views import Viewer, currency_of

log = logging.getLogger("timeledger.budget")

MONEY_BUDGETS = frozenset({"project_cost", "task_fees"})
TOTAL = "total"
DEFAULT_THRESHOLD = Decimal(100)
_TOUCHED = "timeledger.budget.touched"


@dataclass(frozen=True)
class Status:
    project: Project
    unit: str  # "hours" or "money"
    period: str  # "total" or "YYYY-MM"
    currency: str
    budget: Decimal | None
    spent: Decimal

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.spent

    @property
    def percent_used(self) -> Decimal | None:
        if not self.budget:
            return None
        return (self.spent * 100 / self.budget).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def threshold(self) -> Decimal:
        return self.project.over_budget_notification_percentage or DEFAULT_THRESHOLD

    @property
    def crossed(self) -> bool:
        if self.budget is None:
            return False
        if self.budget == 0:
            return self.spent > 0
        return self.spent * 100 >= self.threshold * self.budget


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def period_of(project: Project, day: date) -> str:
    return day.strftime("%Y-%m") if project.budget_is_monthly else TOTAL


def budgets_of(session: Session, projects: list[Project]) -> dict[uuid.UUID, Decimal | None]:
    """Each project's budget: its own figure, else the sum of its assignment budgets."""
    result: dict[uuid.UUID, Decimal | None] = {}
    by_assignments: dict[type[Any], list[uuid.UUID]] = {TaskAssignment: [], UserAssignment: []}
    for project in projects:
        own = project.budget
        if project.budget_by == "project_cost" and project.cost_budget is not None:
            own = project.cost_budget
        result[project.id] = own
        if own is None and project.budget_by in ("task", "task_fees"):
            by_assignments[TaskAssignment].append(project.id)
        elif own is None and project.budget_by == "person":
            by_assignments[UserAssignment].append(project.id)
    for model, ids in by_assignments.items():
        if not ids:
            continue
        stmt = (
            select(model.project_id, func.sum(raw(model.budget)))
            .where(model.project_id.in_(ids), model.is_active.is_(True))
            .group_by(model.project_id)
        )
        for project_id, total in session.execute(stmt):
            result[project_id] = None if total is None else from_scaled(total)
    return result


def measure(
    session: Session, figures: Figures, projects: list[Project], as_of: date
) -> list[Status]:
    """Budget and spending of these projects (all of one account) as of a day, from the
    ledger: total budgets up to that day, monthly budgets in its month."""
    if not projects:
        return []
    spent = _ledger(session, figures, projects, as_of)
    budgets = budgets_of(session, projects)
    return [
        _status(project, figures, spent.get(project.id), budgets.get(project.id), as_of)
        for project in projects
    ]


def _status(
    project: Project,
    figures: Figures,
    row: dict[str, Any] | None,
    budget: Decimal | None,
    as_of: date,
) -> Status:
    """A project's Status from what it spent (`row`: SPENT measures and currency; None if
    nothing)."""
    code = row["currency"] if row else currency_of(project, figures.account)
    money = project.budget_by in MONEY_BUDGETS
    if row is None:
        used = Decimal(0)
    elif money:
        used = Figures.from_minor(row["billable_minor"], code) + from_scaled(row["outcome_revenue"])
        if project.cost_budget_include_expenses:
            used += from_scaled(row["expense_billable"])
    else:
        used = from_scaled(row["hours"], 4)
    return Status(
        project=project,
        unit="money" if money else "hours",
        period=period_of(project, as_of),
        currency=code,
        budget=budget,
        spent=used,
    )


Spent = dict[uuid.UUID, dict[str, Any]]  # project -> SPENT measures and its currency
SPENT = ("hours", "billable_minor", "outcome_revenue", "expense_billable")


def _window(projects: list[Project], as_of: date, row: Any, day: Any) -> ColumnElement[bool]:
    """The rows of these projects that count as of a day (`day`: the row's date column)."""
    monthly = [p.id for p in projects if p.budget_is_monthly]
    total = [p.id for p in projects if not p.budget_is_monthly]
    parts = []
    if monthly:
        month = month_of(as_of)
        parts.append(and_(row.project_id.in_(monthly), day >= month[0], day <= month[1]))
    if total:
        parts.append(and_(row.project_id.in_(total), day <= as_of))
    return or_(*parts)


def _ledger(session: Session, figures: Figures, projects: list[Project], as_of: date) -> Spent:
    def window(row: Any) -> ColumnElement[bool]:
        mine = row.account_id == figures.account.id
        return and_(mine, _window(projects, as_of, row, row.spent_date))

    cube = Cube(figures, entries=window(TimeEntry), expenses=window(Expense))
    rows = session.execute(cube.query(["project"], SPENT)).mappings()
    return {row["project"]: dict(row) for row in rows}


# A budget check's statements, built once (one runs on every write to a project that asks
# for notices), with the project and the window [:first, :last] as parameters.
_PROJECT = bindparam("project", type_=Uuid)
_FIRST, _LAST = bindparam("first", type_=Date), bindparam("last", type_=Date)
_RUNNING_IN_WINDOW = and_(
    TimeEntry.account_id == bindparam("account", type_=Uuid),
    TimeEntry.is_running.expression,
    TimeEntry.project_id == _PROJECT,
    TimeEntry.spent_date >= _FIRST,
    TimeEntry.spent_date <= _LAST,
)
# The project's running timers in the window; their project is the one measured, at hand.
_RUNNING = select(TimeEntry).where(_RUNNING_IN_WINDOW).options(lazyload("*"))


def _kept_at_once() -> Select[Any]:
    """The project's kept totals in the window (ProjectSpending), whether a timer runs in
    it (then measured live), and its alert of :period, in one statement."""
    ps = ProjectSpending
    running = select(TimeEntry.id).where(_RUNNING_IN_WINDOW).limit(1).scalar_subquery()
    alert = select(BudgetAlert.id).where(
        BudgetAlert.project_id == _PROJECT, BudgetAlert.period == bindparam("period")
    )
    return select(
        *(func.coalesce(func.sum(ps.__table__.c[m]), 0).label(m) for m in SPENT),
        running.label("running"),
        alert.scalar_subquery().label("alert"),
    ).where(ps.project_id == _PROJECT, ps.month >= _FIRST, ps.month <= _LAST)


_KEPT_AT_ONCE = _kept_at_once()


def measure_kept(
    session: Session, figures: Figures, project: Project, as_of: date
) -> tuple[Status, uuid.UUID | None]:
    """A project's Status from the kept monthly totals, as `measure` finds it from the
    ledger, for an `as_of` that ends a month (or date.max); and the id of its alert for
    the period, if there is one."""
    window = {
        "project": project.id,
        "account": figures.account.id,
        "first": month_of(as_of)[0] if project.budget_is_monthly else date.min,
        "last": as_of,
    }
    found = session.execute(_KEPT_AT_ONCE, window | {"period": period_of(project, as_of)}).one()
    code = currency_of(project, figures.account)
    spent = {m: found[i] for i, m in enumerate(SPENT)} | {"currency": code}
    if found.running is not None:  # a timer runs: its live time, as the entry reads now
        viewer = Viewer(figures.account, figures.now)
        for entry in session.scalars(_RUNNING, window):
            live = viewer.figures(entry, viewer.elapsed(entry)[0])
            spent["hours"] += hours_of(live.rounded_seconds)
            spent["billable_minor"] += in_minor_units(live.billable_amount, code)
    budget = budgets_of(session, [project])[project.id]
    return _status(project, figures, spent, budget, as_of), found.alert


# --- crossings --------------------------------------------------------------------------------


def touch(session: Session, account_id: uuid.UUID, project_id: uuid.UUID, day: date) -> None:
    """A write changed what `project_id` spent on `day`: look at its budget before commit,
    unless the project is at hand and asks for no notice (most do not: then the commit
    neither reads the project again nor opens a savepoint for the check)."""
    project = _at_hand(session, Project, project_id)
    loaded = project is not None and not _NOTICE & inspect(project).unloaded
    if loaded and not _asks_for_notice(project):
        return
    session.info.setdefault(_TOUCHED, set()).add((account_id, project_id, day.replace(day=1)))
    # The session holds what it loaded weakly, and a request's handler has let go of the
    # project and account by its commit: keep them for the check, or it reads both again.
    held = session.info.setdefault(_HELD, {})
    held[project_id] = project
    held[account_id] = _at_hand(session, Account, account_id)


_NOTICE = {"notify_when_over_budget", "budget_by"}  # what _asks_for_notice reads
_HELD = "timeledger.budget.held"


def _at_hand(session: Session, model: type[Any], key: uuid.UUID) -> Any:
    """The row, if the session holds it (no SQL)."""
    found = session.identity_map.get(session.identity_key(model, key))
    return found if isinstance(found, model) else None


def _asks_for_notice(project: Project) -> bool:
    return project.notify_when_over_budget and project.budget_by != "none"


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    touched: set[tuple[uuid.UUID, uuid.UUID, date]] | None = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    try:
        with session.begin_nested():
            settle(session, touched)
    except Exception:
        # A missed notice must never cost the user their write.
        log.exception("budget threshold check failed")
    finally:
        session.info.pop(_HELD, None)


def settle(session: Session, touched: Iterable[tuple[uuid.UUID, uuid.UUID, date]]) -> None:
    """Emit or re-arm the threshold alert of every touched project that asks for one."""
    by_project: dict[uuid.UUID, set[date]] = {}
    accounts: dict[uuid.UUID, uuid.UUID] = {}
    for account_id, project_id, month in touched:
        by_project.setdefault(project_id, set()).add(month)
        accounts[project_id] = account_id
    figures: dict[uuid.UUID, Figures] = {}
    for project_id, months in by_project.items():
        project = session.get(Project, project_id)
        if project is None or not _asks_for_notice(project):
            continue
        account_id = accounts[project_id]
        if account_id not in figures:
            account = session.get(Account, account_id)
            assert account is not None
            # No currencies looked up: each project is measured in its own (_kept).
            figures[account_id] = Figures(
                dialect=session.get_bind().dialect.name,
                account=account,
                settings=AccountSettings.of(account),
                now=utcnow(),
                currencies=(account.currency,),
            )
        days = [month_of(m)[1] for m in months] if project.budget_is_monthly else [date.max]
        for day in days:
            _alert(session, *measure_kept(session, figures[account_id], project, day))


def _alert(session: Session, status: Status, existing: uuid.UUID | None) -> None:
    project = status.project
    if not status.crossed:
        if existing is not None:
            session.execute(delete(BudgetAlert).where(BudgetAlert.id == existing))
        return
    if existing is not None:
        return
    session.add(
        BudgetAlert(
            account_id=project.account_id,
            project_id=project.id,
            period=status.period,
            percent_used=min(status.percent_used or Decimal(0), Decimal("99999999")),
        )
    )
    session.flush()
    emit(session, project.account_id, "project.budget_threshold_crossed", event_data(status))


def event_data(status: Status) -> dict[str, Any]:
    project = status.project

    def plain(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "project_id": str(project.id),
        "project_name": project.name,
        "client_id": None if project.client_id is None else str(project.client_id),
        "budget_by": project.budget_by,
        "budget_is_monthly": project.budget_is_monthly,
        "period": status.period,
        "unit": status.unit,
        "currency": status.currency if status.unit == "money" else None,
        "budget": plain(status.budget),
        "spent": plain(status.spent),
        "remaining": plain(status.remaining),
        "percent_used": plain(status.percent_used),
        "threshold": plain(status.threshold),
    }
