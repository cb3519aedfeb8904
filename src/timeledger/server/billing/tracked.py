"""An invoice of a client's unbilled work in a period: time, and optionally expenses and
successful outcomes.

What is billed: rows of the client's projects (all of them, or `project_ids`) whose
spent_date is in the period, that are billable, not yet billed and not running, in the
invoice's currency (the client's, else the account's; bill a project in another currency on
an invoice in that currency). Expenses bill their total cost; outcomes bill quantity x their
unit price when they succeeded and have a price.

Claiming is set-based: one INSERT ... SELECT per kind of row, inside the creating
transaction, gives each matching row that is not billed a billing mark (tracking/models.py
BillingMark: a new one, or the released one it had) that points at the invoice; the lines
are then summed over the rows the invoice marked. Two invoices created at the same moment
bill disjoint rows: on PostgreSQL hold_billing (and the number counter) serializes
creations, so the second claims after the first commits and sees its marks; SQLite admits
one writer at a time; and a mark's primary key is the row's id, so no row can be marked
twice in any case. Marks lock no rows, so an edit in flight holds billing off
(tracking/service.py hold_billing) and is billed as it ends. Nothing to bill is a 400 and,
the transaction rolling back, nothing is written, not even a number.

Time: each entry bills its `billable_seconds` when set (what a compatibility surface said
to bill), else its duration, then the account's rounding applies per entry, as reports show
it. `overlap_strategy`:
- add: every entry as logged.
- merge: per person, time tracked twice is billed once. Entries with start and end times
  are taken in start order and each bills only the part no earlier entry of that person
  already covered (whole seconds, measured to the microsecond), so the total is the union
  of the intervals. Entries without clock times (or with explicit billable_seconds) are
  billed as logged.
Both are computed in SQL, entry by entry, with the reports' rounding (reports/sql.py), so
100,000 entries never become Python objects. Lines group hours by `group_by` (project, task
or person within a project, or one line per entry: detailed) and by rate, so
quantity x unit_price is each line's amount; quantities are hours to 4 decimal places, and a
line's amount is that quantity x the rate (totals.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Uuid, and_, case, func, insert, literal, select
from sqlalchemy.orm import Session

from timeledger.server.accounts.models import User
from timeledger.server.accounts.service import get_account
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.billing import service, totals
from timeledger.server.billing.models import Invoice, InvoiceLineItem
from timeledger.server.billing.schemas import TrackedWorkInvoice
from timeledger.server.catalog.models import Client, Project, Task
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.clock import utcnow
from timeledger.server.core.errors import ValidationFailed
from timeledger.server.core.ids import new_id, parse_id
from timeledger.server.core.money import MAX_AMOUNT, MAX_UNIT_PRICE
from timeledger.server.core.types import UTCDateTime
from timeledger.server.db import upsert
from timeledger.server.expenses.models import Expense, ExpenseCategory
from timeledger.server.outcomes.models import Outcome
from timeledger.server.reports.sql import MICROS, Figures, epoch_us, from_scaled, raw
from timeledger.server.tracking.models import BillingMark, TimeEntry
from timeledger.server.tracking.service import hold_billing
from timeledger.server.tracking.timing import seconds_to_hours
from timeledger.server.tracking.views import currency_of

_entries = TimeEntry.__table__
_expenses = Expense.__table__


@dataclass(frozen=True)
class NewLine:
    """A line to be: every line from tracked work is taxed (by the invoice's tax, if any)."""

    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    project_id: uuid.UUID | None
    sort_key: tuple[Any, ...]


def create_from_tracked_work(
    session: Session, actor: Actor, command: TrackedWorkInvoice
) -> Invoice:
    actor.require(Role.manager, service.INVOICING)
    if command.period_end < command.period_start:
        raise ValidationFailed("period_end must not be before period_start", field="period_end")
    client = service.resolve_client(session, actor, command.client_id)
    account = get_account(session, actor.account_id)
    currency = command.currency or client.currency or account.currency
    projects = _projects(session, actor, client, command.project_ids, currency)
    if command.tax_rate is not None and "tax" not in command.model_fields_set:
        command = command.model_copy(update={"tax": command.tax_rate})
    hold_billing(session, actor.account_id, to_bill=True)
    invoice = service.new_invoice(session, actor, client, command, currency)
    names = _Names(session, projects)
    scope = _Scope(actor.account_id, list(projects), command.period_start, command.period_end)
    figures = Figures(
        session.get_bind().dialect.name, account, AccountSettings.of(account), utcnow(), ()
    )
    lines = _time_lines(session, invoice, scope, command, figures, names)
    if command.include_expenses:
        lines += _expense_lines(session, invoice, scope, command.group_by, names)
    if command.include_outcomes:
        lines += _outcome_lines(session, invoice, scope, command.group_by, names)
    if not lines:
        raise ValidationFailed(
            f"nothing to bill: {client.name} has no unbilled billable work from "
            f"{command.period_start} to {command.period_end}",
            field="period_start",
        )
    priced = _insert_lines(session, invoice, sorted(lines, key=lambda line: line.sort_key))
    session.expire(invoice, ["line_items"])
    return service.announce(session, actor, invoice, priced)


def _projects(
    session: Session,
    actor: Actor,
    client: Client,
    project_ids: list[str] | None,
    currency: str,
) -> dict[uuid.UUID, Project]:
    """The client's projects to bill, by id. Named projects must be the client's and in the
    invoice's currency; of all its projects, those in another currency are left out."""
    account = get_account(session, actor.account_id)
    stmt = select(Project).where(
        Project.account_id == actor.account_id, Project.client_id == client.id
    )
    owned = {p.id: p for p in session.scalars(stmt)}
    if project_ids is None:
        return {pid: p for pid, p in owned.items() if currency_of(p, account) == currency}
    chosen: dict[uuid.UUID, Project] = {}
    for index, given in enumerate(project_ids):
        project = owned.get(parse_id(given))  # type: ignore[arg-type]
        field = f"project_ids.{index}"
        if project is None:
            raise ValidationFailed(f"{field} does not name a project of this client", field=field)
        if currency_of(project, account) != currency:
            raise ValidationFailed(
                f"{field}: {project.name} bills in {currency_of(project, account)}, not "
                f"{currency}; invoice it separately with currency {currency_of(project, account)}",
                field=field,
            )
        chosen[project.id] = project
    return chosen


@dataclass(frozen=True)
class _Scope:
    account_id: uuid.UUID
    project_ids: list[uuid.UUID]
    start: date
    end: date


class _Names:
    """Names for line descriptions, read once per kind."""

    def __init__(self, session: Session, projects: dict[uuid.UUID, Project]) -> None:
        self.session = session
        self.projects = {pid: p.name for pid, p in projects.items()}

    def lookup(self, model: Any, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        wanted = set(ids)
        if not wanted:
            return {}
        if model is User:
            rows = self.session.execute(
                select(User.id, User.first_name, User.last_name, User.email).where(
                    User.id.in_(wanted)
                )
            )
            return {
                r.id: " ".join(p for p in (r.first_name, r.last_name) if p) or r.email for r in rows
            }
        rows = self.session.execute(select(model.id, model.name).where(model.id.in_(wanted)))
        return {r.id: r.name for r in rows}


def _claim(session: Session, table: Any, invoice: Invoice, where: Sequence[Any]) -> int:
    """Mark the matching unbilled rows billed on this invoice, as of its creation; how many
    were. Rows already billed are skipped by the marks' primary key (ON CONFLICT DO UPDATE
    only where the mark was released), not by an anti-join: the planner's estimate of
    billing_marks can be stale by the very rows being inserted (PostgreSQL once took 52 s
    scanning a first 100,000 marks per row).
    SQLite gets them in id order, so that it appends to the marks' b-tree rather than
    inserting at random (0.4 s against 1.4 s for 100,000); PostgreSQL reads them in about
    that order anyway (ids are time-ordered), and sorting would spill to disk."""
    dialect = session.get_bind().dialect.name
    rows = select(
        table.c.id,
        literal(invoice.account_id, Uuid),
        literal(invoice.id, Uuid),
        literal(invoice.created_at, UTCDateTime),
    ).where(*where)
    if dialect == "sqlite":
        rows = rows.order_by(table.c.id)
    columns = ["item_id", "account_id", "invoice_id", "billed_at"]
    insert = upsert(dialect, BillingMark).from_select(columns, rows)
    taken_over = {name: insert.excluded[name] for name in columns[1:]}
    stmt = insert.on_conflict_do_update(
        index_elements=["item_id"],
        set_={**taken_over, "released_at": None},
        where=~BillingMark.bills,
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _billed_on(invoice: Invoice, table: Any) -> Any:
    """The rows of `table` this invoice marked."""
    return table.c.id.in_(BillingMark.items_of(invoice.id))


def _common(table: Any, scope: _Scope) -> list[Any]:
    return [
        table.c.account_id == scope.account_id,
        table.c.project_id.in_(scope.project_ids),
        table.c.spent_date >= scope.start,
        table.c.spent_date <= scope.end,
        table.c.billable.is_(True),
    ]


# --- time ------------------------------------------------------------------------------------


def _time_lines(
    session: Session,
    invoice: Invoice,
    scope: _Scope,
    command: TrackedWorkInvoice,
    figures: Figures,
    names: _Names,
) -> list[NewLine]:
    """Claim the time entries, then sum what each bills per line in one query: the billed
    seconds of every entry (merge: in a window over each person's entries), rounded per
    entry, grouped by the line they go on."""
    e = _entries.c
    # billable_seconds: set when less than the duration is billed (AlgaPSA's billable minutes).
    logged = func.coalesce(e.billable_seconds, e.duration_seconds)
    # Outcomes are entries of 0 seconds: they are billed (or not) as outcomes.
    where = [*_common(_entries, scope), e.is_running.is_(False), logged > 0]
    if not _claim(session, _entries, invoice, where):
        return []
    group_by = command.group_by
    keys = {
        "project": [e.project_id],
        "task": [e.project_id, e.task_id],
        "person": [e.project_id, e.user_id],
        "detailed": [e.project_id, e.task_id, e.user_id, e.id, e.spent_date, e.started_at, e.notes],
    }[group_by]
    rate = func.coalesce(raw(e.billable_rate), 0).label("rate")
    claimed = [*where, _billed_on(invoice, _entries)]
    if command.overlap_strategy == "merge":
        per_entry = _merged(keys, rate, logged, e.billable_seconds, claimed)
    else:
        per_entry = select(*keys, rate, logged.label("billed")).where(*claimed).subquery()
    columns = [per_entry.c[key.name] for key in keys]
    seconds = func.sum(figures.rounded(per_entry.c.billed))
    rows = session.execute(
        select(*columns, per_entry.c.rate, seconds.label("seconds")).group_by(
            *columns, per_entry.c.rate
        )
    ).all()
    users = names.lookup(User, {r.user_id for r in rows}) if "user_id" in per_entry.c else {}
    tasks = names.lookup(Task, {r.task_id for r in rows}) if "task_id" in per_entry.c else {}
    lines = []
    for row in rows:
        if not row.seconds:
            continue
        project = names.projects[row.project_id]
        order: tuple[Any, ...]
        if group_by == "project":
            text, order = project, (project,)
        elif group_by == "task":
            text, order = f"{project}: {tasks[row.task_id]}", (project, tasks[row.task_id])
        elif group_by == "person":
            text, order = f"{project}: {users[row.user_id]}", (project, users[row.user_id])
        else:
            notes = f" - {row.notes}" if row.notes else ""
            who = f"{tasks[row.task_id]} ({users[row.user_id]}){notes}"
            text = f"{row.spent_date} {project}: {who}"
            started = row.started_at.isoformat() if row.started_at else ""
            order = (row.spent_date, started, project, str(row.id))
        rate_value = from_scaled(row.rate)
        lines.append(
            NewLine(
                kind="Service",
                description=text,
                quantity=seconds_to_hours(int(row.seconds)),
                unit_price=rate_value,
                project_id=row.project_id,
                sort_key=(0, *order, rate_value),
            )
        )
    return lines


def _merged(
    keys: list[Any],
    rate: ColumnElement[Any],
    logged: ColumnElement[int],
    explicit: ColumnElement[Any],
    claimed: list[Any],
) -> Any:
    """Each claimed entry's line keys, rate and the seconds it bills under `merge`: an entry
    with clock times (and no explicit billable seconds) bills only the part of its interval
    that no earlier-starting entry of the same person covers; the rest bill as logged. The
    clock times become microseconds once, in an inner query, because the window's
    arithmetic reads each several times (SQLite would parse the timestamp every time)."""
    e = _entries.c
    timed = and_(e.started_at.is_not(None), e.ended_at.is_not(None), explicit.is_(None))
    clocked = (
        select(
            *keys,
            rate,
            logged.label("logged"),
            e.user_id.label("person"),
            e.id.label("entry"),
            case((timed, epoch_us(e.started_at))).label("start_us"),
            case((timed, epoch_us(e.ended_at))).label("end_us"),
        )
        .where(*claimed)
        .subquery("clocked")
    )
    c = clocked.c
    covered = func.max(c.end_us).over(
        partition_by=c.person, order_by=(c.start_us, c.entry), rows=(None, -1)
    )
    since = case((covered > c.start_us, covered), else_=c.start_us)
    uncovered = case((c.end_us > since, c.end_us - since), else_=0) // MICROS
    billed = case((c.start_us.is_not(None), uncovered), else_=c.logged)
    return select(*(c[key.name] for key in keys), c.rate, billed.label("billed")).subquery()


# --- expenses and outcomes -------------------------------------------------------------------


def _expense_lines(
    session: Session, invoice: Invoice, scope: _Scope, group_by: str, names: _Names
) -> list[NewLine]:
    """One line per expense (detailed), else per project and category, for their total."""
    x = _expenses.c
    where = _common(_expenses, scope)
    if not _claim(session, _expenses, invoice, where):
        return []
    detailed = group_by == "detailed"
    keys = [x.project_id, x.expense_category_id]
    if detailed:
        keys += [x.id, x.spent_date, x.notes]
    total = func.sum(raw(x.total_cost)).label("total")
    stmt = select(*keys, total).where(*where, _billed_on(invoice, _expenses)).group_by(*keys)
    rows = session.execute(stmt).all()
    categories = names.lookup(ExpenseCategory, {r.expense_category_id for r in rows})
    lines = []
    for row in rows:
        project, category = names.projects[row.project_id], categories[row.expense_category_id]
        if detailed:
            notes = f" - {row.notes}" if row.notes else ""
            text = f"{row.spent_date} {project}: {category}{notes}"
            order: tuple[Any, ...] = (row.spent_date, str(row.id))
        else:
            text, order = f"{project}: {category}", (project, category)
        amount = from_scaled(row.total)
        lines.append(NewLine("Expense", text, Decimal(1), amount, row.project_id, (1, *order)))
    return lines


def _outcome_lines(
    session: Session, invoice: Invoice, scope: _Scope, group_by: str, names: _Names
) -> list[NewLine]:
    """One line per outcome (detailed), else per project, type and unit price, for the
    quantity delivered."""
    billable = select(Outcome.id).where(
        Outcome.account_id == scope.account_id,
        Outcome.project_id.in_(scope.project_ids),
        Outcome.spent_date >= scope.start,
        Outcome.spent_date <= scope.end,
        Outcome.success.is_(True),
        Outcome.unit_price.is_not(None),
    )
    e = _entries.c
    where = [e.account_id == scope.account_id, e.id.in_(billable)]
    if not _claim(
        session, _entries, invoice, [*where, e.billable.is_(True), e.is_running.is_(False)]
    ):
        return []
    detailed = group_by == "detailed"
    keys: list[Any] = [Outcome.project_id, Outcome.type, Outcome.unit_price]
    if detailed:
        keys += [Outcome.id, Outcome.spent_date, TimeEntry.notes]
    stmt = (
        select(*keys, func.sum(Outcome.quantity).label("quantity"))
        .join(TimeEntry, TimeEntry.id == Outcome.id)
        .where(_billed_on(invoice, _entries))
        .group_by(*keys)
    )
    lines = []
    for row in session.execute(stmt):
        project = names.projects[row.project_id]
        if detailed:
            notes = f" - {row.notes}" if row.notes else ""
            text = f"{row.spent_date} {project}: {row.type}{notes}"
            order: tuple[Any, ...] = (row.spent_date, str(row.id))
        else:
            text, order = f"{project}: {row.type}", (project, row.type)
        quantity = Decimal(row.quantity)
        order = (2, *order, row.unit_price)
        lines.append(NewLine("Outcome", text, quantity, row.unit_price, row.project_id, order))
    return lines


# --- writing the lines -----------------------------------------------------------------------


def _insert_lines(session: Session, invoice: Invoice, lines: list[NewLine]) -> list[totals.Line]:
    """Insert the lines in one statement; their amounts for the invoice's totals."""
    now, rows, priced = utcnow(), [], []
    for position, line in enumerate(lines):
        amount = totals.line_amount(line.quantity, line.unit_price, invoice.currency)
        if line.unit_price > MAX_UNIT_PRICE or amount > MAX_AMOUNT:
            raise ValidationFailed(
                f"the line {line.description!r} is too large to invoice as one line; "
                "use group_by detailed",
                field="group_by",
            )
        rows.append(
            {
                "id": new_id(),
                "account_id": invoice.account_id,
                "invoice_id": invoice.id,
                "position": position,
                "kind": line.kind,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "amount": amount,
                "taxed": True,
                "taxed2": True,
                "project_id": line.project_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        priced.append(totals.Line(amount, taxed=True, taxed2=True))
    session.execute(insert(InvoiceLineItem), rows)
    return priced
