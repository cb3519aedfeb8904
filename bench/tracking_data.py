"""Time entries for a generated catalogue (bench/generate.py), one API key per user, and the
ids the tracking benchmark calls with.

Entries go in through bench.generate_ledger.insert_fast (COPY on PostgreSQL: Core executemany
took over 20 minutes for a million there). They are shaped like a
real account: each user works on a few projects drawn with a Zipf-like skew (so some
projects are big), agents (30% of users) log four times as many, shorter entries as people,
on weekdays over the last two years; started_at + duration_seconds = ended_at, rates are
snapshotted, notes come from a small vocabulary. On SQLite the search trigger is off during
the load and the index is rebuilt once after it (reports.search.rebuild), as bench
.generate_ledger does; on PostgreSQL everything is VACUUMed and ANALYZEd
afterwards.

    python -m bench.tracking_data sqlite:////tmp/tl.db --entries 100000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, create_engine, func, select, text
from sqlalchemy.orm import Session

from bench.generate import Catalogue, Factory, Row, Sizes, generate
from bench.generate_ledger import insert_fast, store_figures
from timeledger.server.accounts.keys import mint
from timeledger.server.core.ids import new_id
from timeledger.server.models import Project, Task, TaskAssignment, TimeEntry, User
from timeledger.server.reports import search

VERBS = ["Reviewed", "Fixed", "Deployed", "Refactored", "Tested", "Designed", "Planned"]
OBJECTS = ["the billing service", "login flow", "search index", "invoice export", "API client"]
SEARCH_TRIGGER = "time_entries_search_insert"  # migration 0004
DAYS = 730
PROJECTS_PER_USER = 8
AGENT_WEIGHT = 4


@dataclass
class Tracking:
    """A catalogue with time entries, plus what the load needs to call it."""

    catalogue: Catalogue
    entries: int
    seconds: float  # time-entry generation alone (the catalogue has its own)
    user_tokens: list[str] = field(default_factory=list)  # active users, one key each
    work: list[tuple[str, str]] = field(default_factory=list)  # (project, task) one can log to
    busiest_user: str = ""
    busiest_project: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def entry_rows(f: Factory, users: list[Row], projects: list[Any], count: int) -> Iterator[Row]:
    rng = f.rng
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(1, DAYS)]
    days = [d for d in days if d.weekday() < 5]
    zipf = [1 / (rank + 1) ** 0.8 for rank in range(len(projects))]
    mine = {u["id"]: rng.choices(projects, zipf, k=PROJECTS_PER_USER) for u in users}
    weights = [AGENT_WEIGHT if u["agent"] else 1 for u in users]
    per_project = [8, 4, 2, 1, 1, 1, 1, 1][:PROJECTS_PER_USER]
    for n, user in enumerate(rng.choices(users, weights, k=count)):
        project, task = rng.choices(mine[user["id"]], per_project)[0]
        day = rng.choice(days)
        seconds = rng.randint(60, 1_800) if user["agent"] else rng.randint(900, 4 * 3_600)
        started = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            seconds=rng.randint(7 * 3_600, 19 * 3_600)
        )
        ended = started + timedelta(seconds=seconds)
        billable = rng.random() < 0.8
        yield {
            "id": new_id(),
            "account_id": f.account_id,
            "created_at": ended,
            "updated_at": ended,
            "user_id": user["id"],
            "project_id": project,
            "task_id": task,
            "spent_date": day,
            "started_at": started,
            "ended_at": ended,
            "duration_seconds": seconds,
            "is_running": False,
            "timer_started_at": None,
            "notes": f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} (TKT-{n % 99_991})",
            "billable": billable,
            "billable_rate": user["rate"] if billable else None,
            "cost_rate": user["cost"],
            "source": "agent" if user["agent"] else rng.choice(["web", "cli", "api"]),
            "metadata": None,
            "external_ref_type": None,
            "external_ref_id": None,
            "approval_status": "approved" if day < today - timedelta(days=60) else "unsubmitted",
            "rejection_reason": None,
            "submitted_at": None,
            "approved_at": None,
            "approved_by_id": None,
        }


def _users(conn: Connection, cat: Catalogue) -> list[Row]:
    rows = conn.execute(
        select(User.id, User.user_type, User.default_hourly_rate, User.cost_rate).where(
            User.account_id == cat.account_id
        )
    )
    return [
        {"id": i, "agent": kind == "agent", "rate": rate or Decimal(100), "cost": cost}
        for i, kind, rate, cost in rows
    ]


def _work(conn: Connection, cat: Catalogue, active_only: bool) -> list[tuple[Any, Any]]:
    stmt = (
        select(TaskAssignment.project_id, TaskAssignment.task_id)
        .join(Project, Project.id == TaskAssignment.project_id)
        .join(Task, Task.id == TaskAssignment.task_id)
        .where(Project.account_id == cat.account_id)
        .order_by(TaskAssignment.project_id, TaskAssignment.task_id)
    )
    if active_only:
        stmt = stmt.where(Project.is_active, Task.is_active, TaskAssignment.is_active)
    return [(p, t) for p, t in conn.execute(stmt)]


def fill_entries(conn: Connection, cat: Catalogue, count: int, seed: int = 11) -> int:
    f = Factory(cat.account_id, seed)
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # one index rebuild at the end beats a trigger per row
        conn.exec_driver_sql("PRAGMA cache_size = -500000")
        trigger = conn.exec_driver_sql(
            f"SELECT sql FROM sqlite_master WHERE name = '{SEARCH_TRIGGER}'"
        ).scalar_one()
        conn.exec_driver_sql(f"DROP TRIGGER {SEARCH_TRIGGER}")
    rows = entry_rows(f, _users(conn, cat), _work(conn, cat, active_only=False), count)
    total = insert_fast(conn, TimeEntry.__table__, rows)
    if sqlite:
        search.rebuild(conn)
        conn.exec_driver_sql(trigger)
    store_figures(conn, cat.account_id)
    return total


def mint_keys(url: str, cat: Catalogue) -> list[str]:
    """A write key per active user, so each load client can run its own timer."""
    engine = create_engine(url)
    try:
        with Session(engine) as session, session.begin():
            users = session.scalars(
                select(User)
                .where(User.account_id == cat.account_id, User.is_active, User.id != cat.owner_id)
                .order_by(User.id)
            ).all()
            return [
                mint(
                    session, None, account_id=cat.account_id, user=u, name="bench", scope="write"
                ).token
                for u in users
            ]
    finally:
        engine.dispose()


def _busiest(conn: Connection, column: Any, cap: float) -> str:
    """The id with the most entries, among those with at most `cap` of all entries."""
    counts = conn.execute(select(column, func.count()).group_by(column)).all()
    limit = cap * sum(n for _, n in counts)
    return str(max((n, i) for i, n in counts if n <= limit)[1])


def build(url: str, entries: int, sizes: Sizes | None = None) -> Tracking:
    """Migrate and fill the empty database at `url`: catalogue, entries, keys."""
    cat = generate(url, sizes or Sizes())
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        with engine.begin() as conn:
            total = fill_entries(conn, cat, entries)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # As autovacuum leaves a table that has settled: without the visibility map,
                # each index-only count visits the heap (a 1M-entry project page took 100 ms).
                conn.execute(text("VACUUM ANALYZE"))
        seconds = time.perf_counter() - started
        tracking = Tracking(catalogue=cat, entries=total, seconds=seconds)
        with engine.connect() as conn:
            tracking.work = [(str(p), str(t)) for p, t in _work(conn, cat, active_only=True)]
            tracking.busiest_user = _busiest(conn, TimeEntry.user_id, 1.0)
            # the top project holds ~10% of all time; a big but ordinary one holds 1%
            tracking.busiest_project = _busiest(conn, TimeEntry.project_id, 0.01)
    finally:
        engine.dispose()
    tracking.user_tokens = mint_keys(url, cat)
    tracking.counts = {**cat.counts, "time_entries": total}
    return tracking


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="SQLAlchemy URL of an empty database")
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    t = build(args.url, args.entries)
    print(f"catalogue {t.catalogue.seconds:.1f}s, entries {t.seconds:.1f}s: {t.counts}")
    print(f"busiest user {t.busiest_user}, project {t.busiest_project}")


if __name__ == "__main__":
    main()
