"""The billed figures stored on each time entry, the monthly spending kept per project and
the time kept per user and day (reports/derived.py) stay equal to a from-scratch
computation after any sequence of writes:
creates, edits, moves, timers, deletes, outcomes, expenses, and changes of the account's
rounding and of project and client currencies; budget checks read the kept totals and
agree with the ledger."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from alembic import command
from ledgerkit import Book
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from callkit import V2, ok
from timeledger.server import migrate
from timeledger.server.core.clock import utcnow
from timeledger.server.db import Database
from timeledger.server.models import (
    Account,
    Outcome,
    Project,
    ProjectSpending,
    TimeEntry,
    UserDayTime,
)
from timeledger.server.reports import budget, derived
from timeledger.server.reports.sql import Figures
from timeledger.server.tracking.models import FIGURE_COLUMNS
from timeledger.server.tracking.views import Viewer

Stored = dict[Any, tuple[Any, ...]]
SPENT = ("hours", "billable_minor", "outcome_revenue", "expense_billable")


def _figures(session: Session) -> Stored:
    return {
        str(e.id): tuple(getattr(e, name) for name in FIGURE_COLUMNS)
        for e in session.scalars(select(TimeEntry))
    }


def _spending(session: Session) -> Stored:
    """Kept monthly totals; a month whose rows all went away may stay behind at zero."""
    return {
        (str(row.project_id), row.month): tuple(getattr(row, name) for name in SPENT)
        for row in session.scalars(select(ProjectSpending))
        if any(getattr(row, name) for name in SPENT)
    }


def _day_time(session: Session) -> Stored:
    """Kept user-day totals; a day whose entries all went away may stay behind at zero."""
    return {
        (str(row.user_id), row.spent_date, row.currency): figures
        for row in session.scalars(select(UserDayTime))
        if any(figures := tuple(getattr(row, name) for name in UserDayTime.MEASURES))
    }


def outcome_currencies_agree(db: Database) -> int:
    """Every outcome keeps its entry's currency (reports sum outcomes by it); returns how
    many outcomes there are."""
    with db.transaction(write=False) as session:
        pairs = session.execute(
            select(Outcome.currency, TimeEntry.currency).join(TimeEntry, TimeEntry.id == Outcome.id)
        ).all()
    assert all(kept == entry for kept, entry in pairs), pairs
    return len(pairs)


def stored(db: Database) -> Stored:
    with db.transaction(write=False) as session:
        return _figures(session)


def from_scratch(
    db: Database,
) -> tuple[Stored, Stored, tuple[Stored, Stored], tuple[Stored, Stored]]:
    """Each entry's figures recomputed by `store` in Python and by `recompute` in SQL, and
    the totals kept (spending, then user days) and rebuilt, in a transaction that is
    rolled back."""
    with db.transaction(write=False) as session:
        account = session.scalars(select(Account)).one()
        kept = _spending(session), _day_time(session)
        viewer = Viewer(account, utcnow())
        python: Stored = {}
        for entry in session.scalars(select(TimeEntry)):
            derived.store(entry, viewer)
            python[str(entry.id)] = tuple(getattr(entry, name) for name in FIGURE_COLUMNS)
        session.expunge_all()
        derived.recompute(session, account)
        sql, rebuilt = _figures(session), (_spending(session), _day_time(session))
        session.rollback()
    return python, sql, kept, rebuilt


def budgets_agree(db: Database) -> None:
    """A budget check (kept totals) measures what the budget report (the ledger) does."""
    with db.transaction(write=False) as session:
        account = session.scalars(select(Account)).one()
        figures = Figures.of(session, account, utcnow())
        for project in session.scalars(select(Project).where(Project.account_id == account.id)):
            ends = [date(2026, 2, 28), date(2026, 3, 31)]
            for as_of in ends if project.budget_is_monthly else [*ends, date.max]:
                kept, _ = budget.measure_kept(session, figures, project, as_of)
                (ledger,) = budget.measure(session, figures, [project], as_of)
                assert (kept.spent, kept.currency) == (ledger.spent, ledger.currency)


def _operation(rng: random.Random, api: TestClient, book: Book, ids: list[str]) -> None:
    project = rng.choice([book.project_id, book.eur_project_id])
    kind = rng.choice(
        ["hours", "clock", "timer", "update", "stop", "restart", "delete", "setting", "other"]
    )
    if kind == "hours" or (not ids and kind != "setting"):
        hours = rng.choice([0, 0.01, 0.26, 1, 1.51, 7.99])
        body = {**book.entry(project_id=project), "spent_date": "2026-03-02", "hours": hours}
        body["billable"] = rng.random() < 0.7
        ids.append(ok(api.post(f"{V2}/time_entries", json=body), 201)["id"])
    elif kind == "clock":
        start = f"{rng.randint(0, 22):02d}:{rng.randint(0, 59):02d}"
        end = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
        body = {**book.entry(), "spent_date": "2026-03-03", "started_time": start}
        ids.append(ok(api.post(f"{V2}/time_entries", json={**body, "ended_time": end}), 201)["id"])
    elif kind == "timer":
        body = {**book.entry(project_id=project), "is_running": True, "replace_running": True}
        ids.append(ok(api.post(f"{V2}/time_entries", json=body), 201)["id"])
    elif kind == "update":
        change = rng.choice(
            [
                {"hours": rng.choice([0.5, 2.25, 3.33])},
                {"project_id": project},
                {"spent_date": rng.choice(["2026-03-02", "2026-03-04"])},
                {"billable": rng.random() < 0.5},
                {"notes": "edited"},
            ]
        )
        api.patch(f"{V2}/time_entries/{rng.choice(ids)}", json=change)  # a timer may refuse
    elif kind in ("stop", "restart"):
        api.patch(f"{V2}/time_entries/{rng.choice(ids)}/{kind}", json={})  # 409s are fine
    elif kind == "delete":
        entry = rng.choice(ids)
        ok(api.delete(f"{V2}/time_entries/{entry}"), 204)
        ids.remove(entry)
    elif kind == "other":
        what = rng.choice(["expense", "outcome", "budget"])
        if what == "expense":
            body = book.expense(spent_date="2026-03-02", total_cost=rng.choice([5, 12.5]))
            made = ok(
                api.post(f"{V2}/expenses", json={**body, "billable": rng.random() < 0.5}), 201
            )
            if rng.random() < 0.5:
                ok(api.patch(f"{V2}/expenses/{made['id']}", json={"total_cost": 7}))
            else:
                ok(api.delete(f"{V2}/expenses/{made['id']}"), 204)
        elif what == "outcome":
            body = {**book.outcome(spent_date="2026-03-05"), "type": "ticket_resolved"}
            body |= {"unit_price": "0.99", "quantity": 3, "success": rng.random() < 0.7}
            ids.append(ok(api.post(f"{V2}/outcomes", json=body), 201)["id"])
        else:
            body = {"budget_by": rng.choice(["project", "project_cost"]), "budget": 5}
            body |= {"notify_when_over_budget": True, "budget_is_monthly": rng.random() < 0.5}
            ok(api.patch(f"{V2}/projects/{book.project_id}", json=body))
    else:
        setting = rng.choice(["rounding", "project currency", "client currency"])
        if setting == "rounding":
            body = {
                "rounding_mode": rng.choice(["none", "up", "down", "nearest"]),
                "rounding_increment": rng.choice([1, 6, 15, 30]),
            }
            ok(api.patch(f"{V2}/company", json=body))
        elif setting == "project currency":
            body = {"currency": rng.choice(["JPY", "EUR", "KWD"])}
            ok(api.patch(f"{V2}/projects/{book.eur_project_id}", json=body))
        else:
            body = {"currency": rng.choice(["USD", "JPY", "BHD"])}
            ok(api.patch(f"{V2}/clients/{book.client_id}", json=body))


@pytest.mark.parametrize("seed", [1, 2])
def test_stored_figures_equal_a_recomputation(
    db: Database, api: TestClient, book: Book, seed: int
) -> None:
    rng = random.Random(seed)
    ids: list[str] = []
    for _ in range(30):
        _operation(rng, api, book, ids)
    now = stored(db)
    assert set(now) >= set(ids) and len(now) >= 5
    python, sql, kept, rebuilt = from_scratch(db)
    assert now == python
    assert now == sql
    assert kept == rebuilt and all(kept)
    budgets_agree(db)
    outcome_currencies_agree(db)


def test_stored_figures_are_what_the_list_shows(db: Database, api: TestClient, book: Book) -> None:
    ok(api.patch(f"{V2}/company", json={"rounding_mode": "up", "rounding_increment": 15}))
    body = {**book.entry(project_id=book.eur_project_id), "spent_date": "2026-03-02"}
    made = ok(api.post(f"{V2}/time_entries", json={**body, "hours": 1.1}), 201)
    ok(api.patch(f"{V2}/projects/{book.eur_project_id}", json={"currency": "JPY"}))
    shown = ok(api.get(f"{V2}/time_entries/{made['id']}"))
    currency, rounded, billable_minor, cost_minor = stored(db)[made["id"]]
    assert (shown["currency"], shown["rounded_hours"]) == ("JPY", 1.25)
    assert (currency, rounded, billable_minor, cost_minor) == ("JPY", 4500, 100, 0)
    # the figures are no part of the entry's events
    assert "rounded_seconds" not in ok(api.get(f"{V2}/time_entries/{made['id']}"))


def test_migrations_0015_and_0016_fill_user_days_and_outcome_currencies(
    db: Database, api: TestClient, book: Book
) -> None:
    """Time logged before the upgrade is in the kept user-day totals after it, as a rebuild
    makes them (days, currencies and billable time apart, running timers left out), and
    outcomes logged before it carry their entries' currencies."""
    rng = random.Random(3)
    ids: list[str] = []
    for _ in range(12):
        _operation(rng, api, book, ids)
    timer = {**book.entry(), "is_running": True, "replace_running": True}
    ok(api.post(f"{V2}/time_entries", json=timer), 201)
    for project in (book.project_id, book.eur_project_id):
        body = {**book.outcome(project_id=project, spent_date="2026-03-05"), "type": "pr_merged"}
        body["unit_price"] = "2.5"
        ok(api.post(f"{V2}/outcomes", json=body), 201)
    try:
        command.downgrade(migrate.alembic_config(db.engine), "0014_billing_marks")
        with db.engine.connect() as conn:
            assert "user_day_time" not in inspect(conn).get_table_names()
            assert "currency" not in {c["name"] for c in inspect(conn).get_columns("outcomes")}
    finally:
        migrate.upgrade(db.engine)
    _, _, (_, filled), (_, rebuilt) = from_scratch(db)
    assert filled == rebuilt and len(filled) >= 2
    assert outcome_currencies_agree(db) >= 2  # migration 0016 copied them


def test_a_write_adds_to_kept_totals_in_key_order(
    db: Database, api: TestClient, book: Book
) -> None:
    """Moving an entry to an earlier month takes from its old totals and adds to the new:
    the rows are written in key order, whatever order the change found them in, so two
    writes to the same totals lock them in the same order (no deadlock on PostgreSQL)."""
    made = ok(
        api.post(f"{V2}/time_entries", json=book.entry(spent_date="2026-03-20", hours=2)), 201
    )
    written: dict[str, list[list[str]]] = {}
    keys = {rollup.model.__tablename__: rollup.keys for rollup in derived.ROLLUPS}

    def capture(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        name = getattr(getattr(clause, "table", None), "name", None)
        if name in keys:
            written[name] = [[str(row[k]) for k in keys[name]] for row in multiparams]

    event.listen(db.engine, "before_execute", capture)
    try:
        ok(api.patch(f"{V2}/time_entries/{made['id']}", json={"spent_date": "2026-01-05"}))
    finally:
        event.remove(db.engine, "before_execute", capture)
    assert [len(rows) for rows in written.values()] == [2, 2]
    for rows in written.values():
        assert rows == sorted(rows)
    assert [row[2] for row in written["user_day_time"]] == ["2026-01-05", "2026-03-20"]
