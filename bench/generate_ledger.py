"""Fill a generated catalogue (bench/generate.py) with a ledger: time entries, expenses and
outcomes, straight to the driver in batches (executemany on SQLite, COPY on PostgreSQL; see
`insert_fast`), so a million entries take a minute or two rather than hours through the API.
Triggers and indexes stay in place: the full-text index is built as the rows go in.

The data is shaped like a real account: each user works on a few projects, on weekdays,
several entries a day over `years` years (1,000,000 entries over 4 years is 200 people
logging ~5 entries a working day); agents (30% of users) log short entries that carry
`model.cost_usd` in their metadata; outcomes are 0-hour agent entries plus their outcome
row; expenses include LLM tokens priced per token. Notes come from a small vocabulary, with
a few rare words so a search has something selective to find. Each kind of row (entries,
outcomes, expenses) goes in in the order it was created, with the time-ordered id
(core.ids) of its creation, as a real account's are written day by day: each day's rows
sit together in the tables and their indexes.

    python -m bench.generate_ledger sqlite:////tmp/tl.db --time-entries 100000
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Date, Table, Uuid, create_engine, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from bench.generate import Catalogue, Factory, Sizes, generate
from timeledger.server.core.ids import id_at, new_id
from timeledger.server.core.types import Fixed, UTCDateTime
from timeledger.server.models import (
    Account,
    BillingMark,
    Expense,
    ExpenseCategory,
    Outcome,
    TimeEntry,
    User,
)
from timeledger.server.reports import derived, search

Row = dict[str, Any]

VERBS = [
    "Reviewed",
    "Fixed",
    "Deployed",
    "Refactored",
    "Tested",
    "Designed",
    "Documented",
    "Planned",
    "Debugged",
    "Migrated",
    "Optimised",
    "Triaged",
]
OBJECTS = [
    "the billing service",
    "login flow",
    "search index",
    "invoice export",
    "API client",
    "payment webhook",
    "onboarding emails",
    "dashboard charts",
    "data pipeline",
    "mobile layout",
    "release notes",
    "CI workflow",
]
# Rare words: about one entry in RARE_EVERY carries one, so searches for them are selective.
RARE = ["kubernetes", "terraform", "postgres", "websocket", "accessibility", "localisation"]
RARE_EVERY = 170
OUTCOME_TYPES = [
    "ticket_resolved",
    "lead_qualified",
    "code_review_completed",
    "pr_merged",
    "document_generated",
    "customer_reply_sent",
]
SOURCES = ["web", "cli", "api", "agent"]
SEARCH_TRIGGER = "time_entries_search_insert"  # migration 0004


@dataclass(frozen=True)
class LedgerSizes:
    time_entries: int = 1_000_000
    expenses: int = 100_000
    outcomes: int = 100_000
    years: int = 4
    last_day: date = date(2026, 12, 31)
    projects_per_user: int = 12
    running_timers: int = 20
    seed: int = 7


@dataclass
class Ledger:
    counts: dict[str, int] = field(default_factory=dict)
    agent_ids: list[Any] = field(default_factory=list)
    seconds: float = 0.0


class Work:
    """Who works where, and on which days."""

    def __init__(self, f: Factory, cat: Catalogue, sizes: LedgerSizes, agents: set[Any]):
        self.rng = f.rng
        first = sizes.last_day - timedelta(days=365 * sizes.years - 1)
        self.days = [
            first + timedelta(days=n)
            for n in range((sizes.last_day - first).days + 1)
            if (first + timedelta(days=n)).weekday() < 5
        ]
        self.users = cat.user_ids
        self.agents = agents
        self.tasks = cat.task_ids
        self.projects = {
            user: self.rng.sample(
                cat.project_ids, min(sizes.projects_per_user, len(cat.project_ids))
            )
            for user in cat.user_ids
        }

    def pick(self) -> tuple[Any, Any, Any]:
        user = self.rng.choice(self.users)
        return user, self.rng.choice(self.projects[user]), self.rng.choice(self.tasks)

    def workdays(self, count: int) -> list[date]:
        """The days of `count` pieces of work, at random, in the order they happened."""
        return sorted(self.rng.choices(self.days, k=count))


def in_creation_order(rows: Iterable[Row]) -> Iterator[Row]:
    """Rows given day by day, each day's in the order they were created: the order an
    account's rows are written in, and so where a real database holds them."""
    day: list[Row] = []
    for row in rows:
        if day and row["spent_date"] != day[0]["spent_date"]:
            yield from sorted(day, key=lambda r: r["created_at"])
            day = []
        day.append(row)
    yield from sorted(day, key=lambda r: r["created_at"])


def _notes(rng: random.Random, n: int) -> str:
    text = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} (TKT-{rng.randint(1000, 99999)})"
    if n % RARE_EVERY == 0:
        text += f" with {RARE[(n // RARE_EVERY) % len(RARE)]}"
    return text


def _stamp(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(
        hours=rng.randint(7, 19), seconds=rng.randint(0, 3599), microseconds=rng.randint(0, 999_999)
    )


def _made(f: Factory, created: datetime, user: Any, project: Any) -> Row:
    """The columns an entry or expense starts with: the id it got when it was created."""
    return {
        "id": id_at(created),
        "account_id": f.account_id,
        "created_at": created,
        "updated_at": created,
        "user_id": user,
        "project_id": project,
    }


def _entry(f: Factory, work: Work, n: int, day: date, seconds: int | None = None) -> Row:
    rng = f.rng
    user, project, task = work.pick()
    agent = user in work.agents
    if seconds is None:  # agents log many short runs; people fewer, longer blocks
        seconds = rng.randint(60, 1_800) if agent else rng.randint(900, 4 * 3_600)
    started = _stamp(day, rng)
    meta = None
    if agent:
        meta = {
            "agent": {"id": f"agent-{n % 7}"},
            "model": {"provider": "anthropic", "cost_usd": round(rng.uniform(0.001, 0.5), 6)},
        }
    created = started + timedelta(seconds=seconds)
    billable = rng.random() < 0.8
    return {
        **_made(f, created, user, project),
        "task_id": task,
        "spent_date": day,
        "started_at": started if not agent else None,
        "ended_at": created if not agent else None,
        "duration_seconds": seconds,
        "is_running": False,
        "timer_started_at": None,
        "notes": _notes(rng, n),
        "billable": billable,
        "billable_rate": Decimal(rng.randint(5_000, 25_000)).scaleb(-2) if billable else None,
        "cost_rate": Decimal(rng.randint(1_000, 12_000)).scaleb(-2) if rng.random() < 0.6 else None,
        "source": "agent" if agent else rng.choice(SOURCES[:3]),
        "metadata": meta,
        "external_ref_type": None,
        "external_ref_id": None,
        "approval_status": rng.choice(["unsubmitted", "unsubmitted", "submitted", "approved"]),
        "rejection_reason": None,
        "submitted_at": None,
        "approved_at": None,
        "approved_by_id": None,
        "billed": rng.random() < 0.3,  # not a column: _fill marks these billed
    }


def time_entry_rows(f: Factory, work: Work, count: int) -> Iterator[Row]:
    days = work.workdays(count)
    return in_creation_order(_entry(f, work, n, day) for n, day in enumerate(days))


def outcome_rows(
    f: Factory, work: Work, count: int, agents: list[Any]
) -> Iterator[tuple[Row, Row]]:
    """(time entry of 0 hours with the SDK's flat metadata, its outcome row)."""
    rng = f.rng
    days = work.workdays(count)
    for entry in in_creation_order(_entry(f, work, n, day, 0) for n, day in enumerate(days)):
        entry["user_id"] = user = rng.choice(agents) if agents else entry["user_id"]
        entry["project_id"] = rng.choice(work.projects[user])
        price = Decimal(rng.randint(10, 2_000)).scaleb(-2)
        quantity = rng.randint(1, 5)
        success = rng.random() < 0.9
        kind = rng.choice(OUTCOME_TYPES)
        entry.update(
            source="agent",
            started_at=None,
            ended_at=None,
            metadata={
                "outcome_type": kind,
                "outcome_quantity": quantity,
                "outcome_success": success,
                "outcome_unit_price": float(price),
            },
        )
        outcome = {
            "id": entry["id"],
            "account_id": entry["account_id"],
            "created_at": entry["created_at"],
            "updated_at": entry["updated_at"],
            "user_id": entry["user_id"],
            "project_id": entry["project_id"],
            "task_id": entry["task_id"],
            "spent_date": entry["spent_date"],
            "type": kind,
            "unit_price": price,
            "quantity": quantity,
            "success": success,
            "evidence": None,
            "amount": price * quantity,  # two places: exact in every bench currency but JPY
        }
        yield entry, outcome


def category_rows(f: Factory) -> list[Row]:
    made = [
        ("Travel", None, None),
        ("Hardware", None, None),
        ("Mileage", "mile", "0.67"),
        ("GPU", "GPU-hour", "2.45"),
        ("LLM tokens", "token", "0.00000015"),
    ]
    return [
        {
            **f.base(),
            "name": name,
            "unit_name": unit,
            "is_active": True,
            "unit_price": None if price is None else Decimal(price),
        }
        for name, unit, price in made
    ]


def expense_rows(f: Factory, work: Work, count: int, categories: list[Row]) -> Iterator[Row]:
    return in_creation_order(_expense(f, work, day, categories) for day in work.workdays(count))


def _expense(f: Factory, work: Work, day: date, categories: list[Row]) -> Row:
    rng = f.rng
    user, project, _task = work.pick()
    category = rng.choice(categories)
    price = category["unit_price"]
    units = None
    if price is None:
        total = Decimal(rng.randint(100, 50_000)).scaleb(-2)
    else:
        units = rng.randint(1, 200) if price > 0.01 else rng.randint(1_000, 5_000_000)
        total = (price * units).quantize(Decimal("0.01"))
    return {
        **_made(f, _stamp(day, rng), user, project),
        "expense_category_id": category["id"],
        "spent_date": day,
        "units": units,
        "unit_price": price if units is not None else None,
        "total_cost": total,
        "notes": None,
        "billable": rng.random() < 0.7,
        "source": "agent" if user in work.agents else "api",
        "metadata": None,
        "receipt_key": None,
        "receipt_file_name": None,
        "receipt_content_type": None,
        "receipt_size": None,
        "approval_status": "unsubmitted",
        "rejection_reason": None,
        "submitted_at": None,
        "approved_at": None,
        "approved_by_id": None,
    }


def running_rows(f: Factory, work: Work, count: int) -> Iterator[Row]:
    """A few timers running now (one per user at most, as the database insists)."""
    now = datetime.now(UTC)
    for n, user in enumerate(f.rng.sample(work.users, min(count, len(work.users)))):
        started = now - timedelta(minutes=f.rng.randint(5, 300))
        row = _entry(f, work, n, started.date(), 0)
        row.update(
            id=id_at(started),
            user_id=user,
            project_id=f.rng.choice(work.projects[user]),
            spent_date=started.date(),
            started_at=started,
            ended_at=None,
            is_running=True,
            timer_started_at=started,
        )
        yield row


def _converter(column: Any, sqlite: bool) -> Any:
    """How one column's Python value goes to the driver, as SQLAlchemy would store it."""
    kind = column.type
    if isinstance(kind, Fixed):
        scale = kind.scale
        return lambda v: None if v is None else int(v.scaleb(scale))
    if isinstance(kind, JSON | JSONB) or kind.__class__.__name__ == "JSON":
        return lambda v: None if v is None else json.dumps(v, separators=(",", ":"))
    if not sqlite:
        return None
    if isinstance(kind, Uuid):
        return lambda v: None if v is None else v.hex
    if isinstance(kind, UTCDateTime):
        return lambda v: None if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(kind, Date):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(kind, Boolean):
        return lambda v: None if v is None else int(v)
    return None


def insert_fast(conn: Connection, table: Table, rows: Iterable[Row], batch: int = 10_000) -> int:
    """Like bench.generate.insert_rows, past SQLAlchemy's per-value processing: values are
    converted once here and go to the driver directly (COPY on PostgreSQL). Columns the rows
    do not name (derived figures, columns added later) take their database default."""
    sqlite = conn.dialect.name == "sqlite"
    raw = conn.connection.driver_connection
    total = 0
    iterator = iter(rows)
    while chunk := list(islice(iterator, batch)):
        columns = [c for c in table.columns if c.name in chunk[0]]
        names = [c.name for c in columns]
        convert = [(i, fn) for i, c in enumerate(columns) if (fn := _converter(c, sqlite))]
        quoted = ", ".join(f'"{n}"' for n in names)
        tuples = []
        for row in chunk:
            values = [row[n] for n in names]
            for i, fn in convert:
                values[i] = fn(values[i])
            tuples.append(values)
        if sqlite:
            marks = ", ".join("?" * len(names))
            raw.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', tuples)
        else:
            with (
                raw.cursor() as cursor,
                cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy,
            ):
                for values in tuples:
                    copy.write_row(values)
        total += len(chunk)
    return total


def fill_ledger(conn: Connection, cat: Catalogue, sizes: LedgerSizes) -> Ledger:
    started = time.perf_counter()
    if conn.dialect.name != "sqlite":
        ledger = _fill(conn, cat, sizes)
    else:
        # A big page cache (nine indexes grow at once), and the search index built once
        # at the end rather than by a trigger per row; then the trigger is back.
        conn.exec_driver_sql("PRAGMA cache_size = -1000000")
        trigger = conn.exec_driver_sql(
            f"SELECT sql FROM sqlite_master WHERE name = '{SEARCH_TRIGGER}'"
        ).scalar_one()
        conn.exec_driver_sql(f"DROP TRIGGER {SEARCH_TRIGGER}")
        ledger = _fill(conn, cat, sizes)
        search.rebuild(conn)
        conn.exec_driver_sql(trigger)
    store_figures(conn, cat.account_id)
    ledger.seconds = time.perf_counter() - started
    return ledger


def store_figures(conn: Connection, account_id: Any) -> None:
    """The billed figures every entry stores (reports/derived.py), for all rows at once."""
    with Session(bind=conn) as session:
        account = session.get(Account, account_id)
        assert account is not None
        derived.recompute(session, account)


def _fill(conn: Connection, cat: Catalogue, sizes: LedgerSizes) -> Ledger:
    f = Factory(cat.account_id, sizes.seed)
    types = dict(
        conn.execute(select(User.id, User.user_type).where(User.account_id == cat.account_id)).all()
    )
    agents = {user for user, kind in types.items() if kind == "agent"}
    work = Work(f, cat, sizes, agents)
    ledger = Ledger(agent_ids=sorted(agents))
    billed: list[Any] = []
    ledger.counts["time_entries"] = insert_fast(
        conn, TimeEntry.__table__, _noting(billed, time_entry_rows(f, work, sizes.time_entries))
    )
    ledger.counts["running_timers"] = insert_fast(
        conn, TimeEntry.__table__, running_rows(f, work, sizes.running_timers)
    )
    pairs = list(outcome_rows(f, work, sizes.outcomes, ledger.agent_ids))
    ledger.counts["outcome_entries"] = insert_fast(
        conn, TimeEntry.__table__, _noting(billed, (e for e, _ in pairs))
    )
    ledger.counts["outcomes"] = insert_fast(conn, Outcome.__table__, (o for _, o in pairs))
    del pairs
    categories = category_rows(f)
    insert_fast(conn, ExpenseCategory.__table__, categories)
    ledger.counts["expenses"] = insert_fast(
        conn, Expense.__table__, expense_rows(f, work, sizes.expenses, categories)
    )
    # As though one earlier invoice billed them (a mark needs no invoice row; see BillingMark).
    invoice_id, now = new_id(), datetime.now(UTC)
    marks = (
        {"item_id": i, "account_id": f.account_id, "invoice_id": invoice_id, "billed_at": now}
        for i in billed
    )
    ledger.counts["billed"] = insert_fast(conn, BillingMark.__table__, marks)
    return ledger


def _noting(billed: list[Any], rows: Iterable[Row]) -> Iterator[Row]:
    """The rows, noting the ids of those _entry chose to be billed."""
    for row in rows:
        if row["billed"]:
            billed.append(row["id"])
        yield row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="SQLAlchemy URL of an empty database")
    for spec in fields(LedgerSizes):
        if spec.type in ("int", int):
            parser.add_argument(f"--{spec.name.replace('_', '-')}", type=int)
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "url" and v is not None}
    cat = generate(args.url, Sizes())
    engine = create_engine(args.url)
    with engine.begin() as conn:
        ledger = fill_ledger(conn, cat, LedgerSizes(**overrides))
    engine.dispose()
    print(f"catalogue in {cat.seconds:.1f}s, ledger in {ledger.seconds:.1f}s: {ledger.counts}")
    print(f"token: {cat.token}")
    print(json.dumps({"agents": [str(a) for a in ledger.agent_ids[:3]]}))


if __name__ == "__main__":
    main()
