"""Expenses and expense categories: the rules of recording money spent.

Costs: an expense carries either a `total_cost` or whole `units` of a unit-priced category;
units x the category's unit price (snapshotted on the expense) is rounded half-up to the
currency's minor unit. A `total_cost` given directly must already fit that minor unit.
Who, visibility, metadata, approval and locks are those of time entries (tracking)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from timeledger.server.accounts.models import User
from timeledger.server.accounts.service import get_account
from timeledger.server.audit import trail
from timeledger.server.catalog.models import Project
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.crud import (
    Page,
    create_and_emit,
    delete_and_emit,
    get_scoped,
    paginate,
    scoped,
    snapshot,
    update_and_emit,
)
from timeledger.server.core.errors import NotFound, ValidationFailed
from timeledger.server.core.ids import parse_id
from timeledger.server.core.money import MAX_AMOUNT, fits_scale, minor_units, round_money
from timeledger.server.expenses.models import Expense, ExpenseCategory
from timeledger.server.expenses.schemas import (
    CategoryCreate,
    CategoryUpdate,
    ExpenseCreate,
    ExpenseFilters,
    ExpenseUpdate,
)
from timeledger.server.outbox.service import emit
from timeledger.server.reports import budget
from timeledger.server.tracking.approvals import Ledger
from timeledger.server.tracking.service import (
    ensure_unlocked,
    merge_metadata,
    resolve_project,
    resolve_user,
)
from timeledger.server.tracking.views import currency_of, lock_reason

EDIT_CATEGORIES = "changing expense categories"
DOING = "logging expenses"


# --- categories -------------------------------------------------------------------------------


def list_categories(
    session: Session,
    actor: Actor,
    *,
    page: int,
    per_page: int,
    is_active: bool | None = None,
    updated_since: Any = None,
) -> Page[ExpenseCategory]:
    stmt = scoped(ExpenseCategory, actor.account_id)
    if is_active is not None:
        stmt = stmt.where(ExpenseCategory.is_active.is_(is_active))
    if updated_since is not None:
        stmt = stmt.where(ExpenseCategory.updated_at >= updated_since)
    return paginate(session, stmt.order_by(ExpenseCategory.id.desc()), page, per_page)


def get_category(session: Session, actor: Actor, category_id: str) -> ExpenseCategory:
    return get_scoped(
        session, ExpenseCategory, actor.account_id, parse_id(category_id), "expense category"
    )


def create_category(session: Session, actor: Actor, command: CategoryCreate) -> ExpenseCategory:
    actor.require(Role.manager, EDIT_CATEGORIES)
    row = ExpenseCategory(account_id=actor.account_id, **command.model_dump())
    return create_and_emit(session, actor, row, "expense_category")


def update_category(
    session: Session, actor: Actor, category_id: str, command: CategoryUpdate
) -> ExpenseCategory:
    """A new unit price applies to expenses logged from now on; earlier ones keep theirs."""
    actor.require(Role.manager, EDIT_CATEGORIES)
    row = get_category(session, actor, category_id)
    return update_and_emit(session, actor, row, command.changes(), "expense_category")


def delete_category(session: Session, actor: Actor, category_id: str) -> None:
    actor.require(Role.manager, EDIT_CATEGORIES)
    delete_and_emit(session, actor, get_category(session, actor, category_id), "expense_category")


# --- reading expenses -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpenseView:
    expense: Expense
    currency: str

    @property
    def locked_reason(self) -> str | None:
        return lock_reason(self.expense, "expense")

    @property
    def is_locked(self) -> bool:
        return self.locked_reason is not None

    @property
    def is_closed(self) -> bool:
        return self.expense.approval_status == "approved"


def _view(session: Session, actor: Actor) -> Any:
    account = get_account(session, actor.account_id)

    def view(expense: Expense) -> ExpenseView:
        return ExpenseView(expense, currency_of(expense.project, account))

    return view


def visible_expenses(actor: Actor) -> Select[Expense]:
    """Members see their own expenses; managers and above see the account's."""
    stmt = scoped(Expense, actor.account_id)
    if actor.role < Role.manager:
        stmt = stmt.where(Expense.user_id == actor.user_id)
    return stmt


def find_expense(session: Session, actor: Actor, expense_id: str) -> Expense:
    uid = parse_id(expense_id)
    row = session.scalar(visible_expenses(actor).where(Expense.id == uid)) if uid else None
    if row is None:
        raise NotFound("expense")
    return row


def get_expense(session: Session, actor: Actor, expense_id: str) -> ExpenseView:
    view: ExpenseView = _view(session, actor)(find_expense(session, actor, expense_id))
    return view


def apply_filters(stmt: Select[Any], f: ExpenseFilters, account_id: uuid.UUID) -> Select[Any]:
    """The list filters as WHERE clauses of the account's expenses (reports and export
    share them)."""
    if f.from_ and f.to and f.from_ > f.to:
        raise ValidationFailed("from must not be after to", field="from")
    for name, column in (
        ("user_id", Expense.user_id),
        ("project_id", Expense.project_id),
        ("expense_category_id", Expense.expense_category_id),
    ):
        raw = getattr(f, name)
        if raw is not None:
            stmt = stmt.where(column == parse_id(raw))
    if f.client_id is not None:
        projects = select(Project.id).where(Project.client_id == parse_id(f.client_id))
        stmt = stmt.where(Expense.project_id.in_(projects))
    if f.source is not None:
        stmt = stmt.where(Expense.source == f.source)
    if f.from_ is not None:
        stmt = stmt.where(Expense.spent_date >= f.from_)
    if f.to is not None:
        stmt = stmt.where(Expense.spent_date <= f.to)
    if f.is_billed is not None:
        stmt = stmt.where(Expense.is_billed if f.is_billed else ~Expense.is_billed)
    if f.approval_status is not None:
        stmt = stmt.where(Expense.approval_status == f.approval_status)
    if f.updated_since is not None:
        stmt = stmt.where(Expense.changed_since(account_id, f.updated_since))
    return stmt


def list_expenses(
    session: Session, actor: Actor, filters: ExpenseFilters, *, page: int, per_page: int
) -> Page[ExpenseView]:
    stmt = apply_filters(visible_expenses(actor), filters, actor.account_id)
    stmt = stmt.order_by(Expense.spent_date.desc(), Expense.id.desc())
    result = paginate(session, stmt, page, per_page)
    view = _view(session, actor)
    return Page([view(e) for e in result.items], result.total, result.page, result.per_page)


# --- writing expenses -------------------------------------------------------------------------


def payload(expense: Expense) -> dict[str, Any]:
    """An expense as event data: its columns, metadata under its wire name, no storage key."""
    data = snapshot(expense)
    data["metadata"] = data.pop("meta")
    data.update(expense.billing_state())
    data.pop("receipt_key", None)
    return data


def _category(session: Session, actor: Actor, raw_id: str) -> ExpenseCategory:
    uid = parse_id(raw_id)
    row = session.get(ExpenseCategory, uid) if uid else None
    if row is None or row.account_id != actor.account_id:
        raise ValidationFailed(
            "expense_category_id does not name an expense category of this account",
            field="expense_category_id",
        )
    if not row.is_active:
        raise ValidationFailed(
            "expense_category_id names an archived expense category",
            field="expense_category_id",
        )
    return row


def _priced(units: int, price: Decimal | None, currency: str, field: str) -> Decimal:
    if price is None:
        raise ValidationFailed(
            f"{field}: the expense category has no unit price; send total_cost instead",
            field=field,
        )
    total = round_money(price * units, currency)
    if total > MAX_AMOUNT:
        raise ValidationFailed(f"units x unit price must be at most {MAX_AMOUNT}", field="units")
    return total


def _direct(total: Decimal, currency: str) -> Decimal:
    if not fits_scale(total, minor_units(currency)):
        raise ValidationFailed(
            f"total_cost has more decimal places than {currency} has "
            f"({minor_units(currency)}); round it, or log units of a unit-priced category",
            field="total_cost",
        )
    return total


def create_expense(session: Session, actor: Actor, command: ExpenseCreate) -> ExpenseView:
    user = resolve_user(session, actor, command.user_id, DOING)
    project = resolve_project(session, actor, command.project_id, "log expenses")
    category = _category(session, actor, command.expense_category_id)
    account = get_account(session, actor.account_id)
    currency = currency_of(project, account)
    if command.units is not None and command.total_cost is not None:
        raise ValidationFailed("send total_cost or units, not both", field="units")
    if command.units is not None:
        unit_price = category.unit_price
        total = _priced(command.units, unit_price, currency, "units")
    elif command.total_cost is not None:
        unit_price, total = None, _direct(command.total_cost, currency)
    else:
        raise ValidationFailed(
            "total_cost is required (or units, for a unit-priced category)", field="total_cost"
        )
    expense = Expense(
        account_id=actor.account_id,
        user_id=user.id,
        project_id=project.id,
        expense_category_id=category.id,
        spent_date=command.spent_date,
        units=command.units,
        unit_price=unit_price,
        total_cost=total,
        notes=command.notes,
        billable=project.is_billable if command.billable is None else command.billable,
        source=command.source,
        meta=command.metadata,
        approval_status="unsubmitted",
        billing=None,
    )
    expense.user, expense.project, expense.category = user, project, category
    session.add(expense)
    session.flush()
    data = payload(expense)
    emit(session, actor.account_id, "expense.created", data)
    trail.record(session, actor, "expense.created", expense, None, data)
    budget.touch(session, actor.account_id, project.id, expense.spent_date)
    return ExpenseView(expense, currency)


def update_expense(
    session: Session, actor: Actor, expense_id: str, command: ExpenseUpdate
) -> ExpenseView:
    expense = find_expense(session, actor, expense_id)
    ensure_unlocked(expense, "expense")
    changes = command.changes()
    if "source" in changes and changes.pop("source") != expense.source:
        raise ValidationFailed("source cannot change after the expense is created", field="source")
    if "units" in changes and "total_cost" in changes:
        raise ValidationFailed("send total_cost or units, not both", field="units")
    before = payload(expense)
    account = get_account(session, actor.account_id)
    if "user_id" in changes:
        user: User = resolve_user(session, actor, changes["user_id"], DOING)
        expense.user, expense.user_id = user, user.id
    if "project_id" in changes:
        project = resolve_project(session, actor, changes["project_id"], "log expenses")
        expense.project, expense.project_id = project, project.id
    category_changed = False
    if "expense_category_id" in changes:
        category = _category(session, actor, changes["expense_category_id"])
        category_changed = category.id != expense.expense_category_id
        expense.category, expense.expense_category_id = category, category.id
    _recost(expense, changes, category_changed, currency_of(expense.project, account))
    for name in ("spent_date", "notes", "billable"):
        if name in changes:
            setattr(expense, name, changes[name])
    if "metadata" in changes:
        expense.meta = merge_metadata(expense.meta, changes["metadata"])
    session.flush()
    after = payload(expense)
    changed = sorted(k for k in after if after[k] != before.get(k) and k != "updated_at")
    if changed:
        emit(session, actor.account_id, "expense.updated", {**after, "changed_fields": changed})
        trail.record(session, actor, "expense.updated", expense, before, after)
        budget.touch(session, actor.account_id, expense.project_id, expense.spent_date)
        old_project = parse_id(before["project_id"])
        if old_project is not None:
            old_day = date.fromisoformat(before["spent_date"])
            budget.touch(session, actor.account_id, old_project, old_day)
    return ExpenseView(expense, currency_of(expense.project, account))


def _recost(
    expense: Expense, changes: dict[str, Any], category_changed: bool, currency: str
) -> None:
    """Recompute the cost from what changed: new units, a new direct cost, a new category
    (its current unit price), or a project in another currency."""
    if "total_cost" in changes:
        expense.units = expense.unit_price = None
        expense.total_cost = _direct(changes["total_cost"], currency)
        return
    units = changes.get("units", expense.units)
    if units is None:
        if "expense_category_id" in changes or "project_id" in changes:
            expense.total_cost = _direct(expense.total_cost, currency)
        return
    if category_changed or expense.unit_price is None:
        expense.unit_price = expense.category.unit_price
    field = "units" if "units" in changes else "expense_category_id"
    expense.units = units
    expense.total_cost = _priced(units, expense.unit_price, currency, field)


def delete_expense(session: Session, actor: Actor, expense_id: str) -> Expense:
    """Deletes the row (receipts.delete_expense also removes its file once this commits)."""
    expense = find_expense(session, actor, expense_id)
    ensure_unlocked(expense, "expense")
    data = payload(expense)
    budget.touch(session, actor.account_id, expense.project_id, expense.spent_date)
    session.delete(expense)
    session.flush()
    emit(session, actor.account_id, "expense.deleted", data)
    trail.record(session, actor, "expense.deleted", expense, data, None)
    return expense


# --- approval ---------------------------------------------------------------------------------


def _render(session: Session, actor: Actor, rows: list[Expense]) -> list[ExpenseView]:
    view = _view(session, actor)
    return [view(row) for row in rows]


EXPENSES: Ledger[ExpenseView] = Ledger(
    model=Expense,
    what="expense",
    noun="expenses",
    resource="expense",
    visible=visible_expenses,
    payload=payload,
    render=_render,
)
