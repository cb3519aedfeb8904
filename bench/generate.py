"""Fill a database fast with a realistic catalogue: one account (made by the real bootstrap, so
its API key works) and its users, clients, contacts, projects, tasks and assignments.

Rows go in as SQLAlchemy Core `insert()` executemany batches over the model tables, not
through the API or the ORM. Each table has its own `*_rows` generator of plain dicts, so a
later table (a million time entries) is one more generator fed the ids in `Catalogue`.

    python -m bench.generate sqlite:////tmp/tl.db --projects 5000
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, insert, text
from sqlalchemy.orm import Session

from timeledger.server import migrate
from timeledger.server.accounts.bootstrap import init_account
from timeledger.server.accounts.schemas import AccountCreate
from timeledger.server.core.ids import new_id
from timeledger.server.models import (
    Client,
    Contact,
    Project,
    Task,
    TaskAssignment,
    User,
    UserAssignment,
)

BATCH = 5_000
Row = dict[str, Any]

FIRST = ["Ada", "Alan", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Margaret", "Radia"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Thompson", "Liskov", "Dijkstra", "Knuth"]
AGENTS = ["Claude", "Scribe", "Coder", "Reviewer", "Planner", "Triage", "Indexer"]
NOUNS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Hooli"]
TRADES = ["Logistics", "Robotics", "Foods", "Media", "Health", "Energy", "Labs", "Retail"]
SUFFIXES = ["Ltd", "Inc", "GmbH", "SA", "LLC", "BV"]
WORK = ["Website", "Migration", "Audit", "Redesign", "Platform", "Pipeline", "Research"]
TASKS = ["Design", "Development", "Meetings", "Review", "Testing", "Deployment", "Writing"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF"]
TIMEZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo", None]


@dataclass(frozen=True)
class Sizes:
    users: int = 200  # including the owner
    agent_share: float = 0.3
    clients: int = 300
    contacts_per_client: int = 1
    projects: int = 2_000
    client_share: float = 0.9  # projects that belong to a client
    tasks: int = 50
    tasks_per_project: int = 5
    users_per_project: int = 3
    seed: int = 42


@dataclass
class Catalogue:
    """What a generated database holds: the key to call it with and the ids later tables
    (time entries, invoices) hang off."""

    account_id: Any
    owner_id: Any
    token: str
    user_ids: list[Any] = field(default_factory=list)
    client_ids: list[Any] = field(default_factory=list)
    project_ids: list[Any] = field(default_factory=list)
    task_ids: list[Any] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class Factory:
    """Row values for one account: ids, timestamps spread over two years, a seeded RNG."""

    def __init__(self, account_id: Any, seed: int) -> None:
        self.account_id = account_id
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC)

    def base(self) -> Row:
        created = self.now - timedelta(seconds=self.rng.randint(3_600, 730 * 86_400))
        updated = min(self.now, created + timedelta(seconds=self.rng.randint(0, 90 * 86_400)))
        return {
            "id": new_id(),
            "account_id": self.account_id,
            "created_at": created,
            "updated_at": updated,
        }

    def money(self, low: int, high: int, share: float = 1.0) -> Decimal | None:
        if self.rng.random() >= share:
            return None
        return Decimal(self.rng.randint(low * 100, high * 100)).scaleb(-2)

    def chance(self, share: float) -> bool:
        return self.rng.random() < share


# --- one generator per table ------------------------------------------------------------------


def user_rows(f: Factory, count: int, agent_share: float) -> Iterator[Row]:
    for i in range(count):
        agent = f.chance(agent_share)
        role = "member" if agent else f.rng.choices(["member", "manager", "admin"], [80, 15, 5])[0]
        if agent:
            first, last = f.rng.choice(AGENTS), f"agent {i}"
            email = f"agent-{i}@agents.example.com"
        else:
            first, last = f.rng.choice(FIRST), f.rng.choice(LAST)
            email = f"{first}.{last}.{i}@example.com".lower()
        yield {
            **f.base(),
            "email": email,
            "first_name": first,
            "last_name": last,
            "telephone": None if agent else f"+44 20 7946 {i % 10_000:04d}",
            "timezone": f.rng.choice(TIMEZONES),
            "user_type": "agent" if agent else "human",
            "role": role,
            "is_contractor": not agent and f.chance(0.15),
            "is_active": f.chance(0.95),
            "weekly_capacity": None if agent else 35 * 3_600,
            "default_hourly_rate": f.money(20, 250, 0.8),
            "cost_rate": f.money(10, 120, 0.6),
            "has_access_to_all_future_projects": f.chance(0.1),
        }


def client_rows(f: Factory, count: int) -> Iterator[Row]:
    for i in range(count):
        name = f"{f.rng.choice(NOUNS)} {f.rng.choice(TRADES)} {f.rng.choice(SUFFIXES)} #{i}"
        terms = f.rng.choice(["upon_receipt", "net_15", "net_30", "net_60", None])
        yield {
            **f.base(),
            "name": name,
            "address": f"{f.rng.randint(1, 999)} Market Street\nSpringfield" if i % 3 else None,
            "currency": f.rng.choice(CURRENCIES),
            "payment_terms": terms,
            "payment_days": {"net_15": 15, "net_30": 30, "net_60": 60}.get(terms or ""),
            "tax": f.money(0, 25, 0.5),
            "tax2": None,
            "discount": f.money(0, 10, 0.1),
            "is_active": f.chance(0.9),
        }


def contact_rows(f: Factory, client_ids: list[Any], per_client: int) -> Iterator[Row]:
    for n, client_id in enumerate(client_ids):
        for i in range(per_client):
            first, last = f.rng.choice(FIRST), f.rng.choice(LAST)
            yield {
                **f.base(),
                "client_id": client_id,
                "first_name": first,
                "last_name": last,
                "title": f.rng.choice(["CTO", "Head of Ops", "Buyer", None]),
                "email": f"{first}.{n}.{i}@client.example.com".lower(),
                "phone_office": "+1 555 0100",
                "phone_mobile": None,
                "fax": None,
            }


def project_rows(
    f: Factory, count: int, client_ids: list[Any], client_share: float
) -> Iterator[Row]:
    for i in range(count):
        fixed = f.chance(0.1)
        starts = date(2024, 1, 1) + timedelta(days=f.rng.randint(0, 600))
        has_client = bool(client_ids) and f.chance(client_share)
        yield {
            **f.base(),
            "client_id": f.rng.choice(client_ids) if has_client else None,
            "name": f"{f.rng.choice(WORK)} {f.rng.choice(WORK).lower()} {i}",
            "code": f"P-{i:05d}" if f.chance(0.7) else None,
            "is_active": f.chance(0.85),
            "is_billable": f.chance(0.8),
            "is_fixed_fee": fixed,
            "fee": f.money(1_000, 50_000) if fixed else None,
            "bill_by": f.rng.choice(["Project", "Tasks", "People", "none"]),
            "hourly_rate": f.money(50, 250, 0.6),
            "budget_by": f.rng.choice(["project", "project_cost", "task", "person", "none"]),
            "budget": f.money(1_000, 100_000, 0.5),
            "budget_is_monthly": f.chance(0.2),
            "notify_when_over_budget": f.chance(0.3),
            "over_budget_notification_percentage": Decimal(80),
            "show_budget_to_all": f.chance(0.2),
            "cost_budget": f.money(1_000, 50_000, 0.2),
            "cost_budget_include_expenses": False,
            "currency": None,
            "starts_on": starts,
            "ends_on": starts + timedelta(days=f.rng.randint(30, 365)) if f.chance(0.5) else None,
            "notes": "Generated by bench.generate." if f.chance(0.3) else None,
        }


def task_rows(f: Factory, count: int) -> Iterator[Row]:
    for i in range(count):
        yield {
            **f.base(),
            "name": f"{TASKS[i % len(TASKS)]} {i}",
            "billable_by_default": f.chance(0.8),
            "default_hourly_rate": f.money(50, 200, 0.5),
            "is_default": i < 4,
            "is_active": f.chance(0.95),
        }


def task_assignment_rows(
    f: Factory, project_ids: list[Any], task_ids: list[Any], per_project: int
) -> Iterator[Row]:
    for project_id in project_ids:
        for task_id in f.rng.sample(task_ids, min(per_project, len(task_ids))):
            yield {
                **f.base(),
                "project_id": project_id,
                "task_id": task_id,
                "is_active": True,
                "billable": f.chance(0.8),
                "hourly_rate": f.money(50, 200, 0.3),
                "budget": None,
            }


def user_assignment_rows(
    f: Factory, project_ids: list[Any], user_ids: list[Any], per_project: int
) -> Iterator[Row]:
    for project_id in project_ids:
        for n, user_id in enumerate(f.rng.sample(user_ids, min(per_project, len(user_ids)))):
            yield {
                **f.base(),
                "project_id": project_id,
                "user_id": user_id,
                "is_active": True,
                "is_project_manager": n == 0,
                "use_default_rates": f.chance(0.7),
                "hourly_rate": f.money(50, 200, 0.3),
                "budget": None,
            }


# --- plumbing ---------------------------------------------------------------------------------


def insert_rows(conn: Connection, table: Table, rows: Iterable[Row], batch: int = BATCH) -> int:
    """executemany in batches; rows stream, so a million of them never sit in memory."""
    stmt = insert(table)
    iterator = iter(rows)
    total = 0
    while chunk := list(islice(iterator, batch)):
        conn.execute(stmt, chunk)
        total += len(chunk)
    return total


def _ids(rows: Iterable[Row], into: list[Any]) -> Iterator[Row]:
    for row in rows:
        into.append(row["id"])
        yield row


def create_account(engine: Engine, name: str = "Bench Co") -> Catalogue:
    # Enterprise: no hourly quota, so the load generator measures the server, not the limiter.
    with Session(engine, expire_on_commit=False) as session, session.begin():
        command = AccountCreate(name=name, plan="enterprise")
        new = init_account(session, command, "owner@bench.example.com")
    return Catalogue(account_id=new.account.id, owner_id=new.owner.id, token=new.token)


def fill_catalogue(conn: Connection, cat: Catalogue, sizes: Sizes) -> None:
    f = Factory(cat.account_id, sizes.seed)
    users = [cat.owner_id]
    counts = cat.counts
    counts["users"] = 1 + insert_rows(
        conn, User.__table__, _ids(user_rows(f, sizes.users - 1, sizes.agent_share), users)
    )
    counts["clients"] = insert_rows(
        conn, Client.__table__, _ids(client_rows(f, sizes.clients), cat.client_ids)
    )
    counts["contacts"] = insert_rows(
        conn, Contact.__table__, contact_rows(f, cat.client_ids, sizes.contacts_per_client)
    )
    projects = project_rows(f, sizes.projects, cat.client_ids, sizes.client_share)
    counts["projects"] = insert_rows(conn, Project.__table__, _ids(projects, cat.project_ids))
    counts["tasks"] = insert_rows(
        conn, Task.__table__, _ids(task_rows(f, sizes.tasks), cat.task_ids)
    )
    counts["task_assignments"] = insert_rows(
        conn,
        TaskAssignment.__table__,
        task_assignment_rows(f, cat.project_ids, cat.task_ids, sizes.tasks_per_project),
    )
    counts["user_assignments"] = insert_rows(
        conn,
        UserAssignment.__table__,
        user_assignment_rows(f, cat.project_ids, users, sizes.users_per_project),
    )
    cat.user_ids = users


def generate(url: str, sizes: Sizes | None = None, *, run_migrations: bool = True) -> Catalogue:
    """Migrate the database at `url` to head and fill it; returns the token and the ids."""
    sizes = sizes or Sizes()
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        if run_migrations:
            migrate.upgrade(engine)
        cat = create_account(engine)
        with engine.begin() as conn:
            fill_catalogue(conn, cat, sizes)
        if engine.dialect.name == "postgresql":
            # Autovacuum would analyze the bulk-loaded tables within a minute or so; do it
            # now, so the benchmark sees the plans a live server would. (SQLite gets no
            # statistics unless the server gathers them, so it is left as a server leaves it.)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    cat.seconds = time.perf_counter() - started
    return cat


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="SQLAlchemy URL of an empty database")
    for spec in fields(Sizes):
        parser.add_argument(f"--{spec.name.replace('_', '-')}", type=type(spec.default))
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "url" and v is not None}
    cat = generate(args.url, Sizes(**overrides))
    print(f"generated in {cat.seconds:.2f}s: {cat.counts}")
    print(f"token: {cat.token}")


if __name__ == "__main__":
    main()
