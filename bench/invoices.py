"""`python -m bench.invoices`: an invoice from tracked work for a client with 100,000
billable, unbilled entries in the period, with each overlap strategy, over the real server.

For each engine: a fresh database, a small catalogue (bench/generate.py), then one client
with five projects and twenty people whose 100,000 entries (March 2026, clock times that
often overlap, rates by project) go straight to the driver (bench/generate_ledger.py's
`insert_fast`), ANALYZE, and the real server under uvicorn (bench/server.py). Each round
POSTs /api/v2/invoices from that work with `add`, then deletes the draft (which releases the
work), then the same with `merge`; the latency p50 of each strategy is compared with its
budget (2 s on SQLite, 1 s on PostgreSQL). Deleting is timed too, for the record.

    python -m bench.invoices --engine both
    python -m bench.invoices --entries 20000 --rounds 2     # a quick look
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, text

from bench.generate import Catalogue, Factory, Sizes, generate, insert_rows
from bench.generate_ledger import insert_fast, store_figures
from bench.server import HOST, Server, database
from timeledger.server.core.ids import new_id
from timeledger.server.models import Client, Project, TaskAssignment, TimeEntry, User

PERIOD = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
BUDGETS_MS = {"sqlite": 2000.0, "postgresql": 1000.0}
PEOPLE = 20
RATES = (Decimal("100"), Decimal("120"), Decimal("150"), Decimal("90.5"), Decimal("200"))
Row = dict[str, Any]


@dataclass(frozen=True)
class Billed:
    client_id: str
    entries: int


def _client_rows(f: Factory, cat: Catalogue) -> tuple[Row, list[Row], list[Row], list[Row]]:
    client = {**f.base(), "name": "Bench Client", "currency": "USD", "is_active": True}
    projects = [
        {
            **f.base(),
            "client_id": client["id"],
            "name": f"Project {n}",
            "is_active": True,
            "is_billable": True,
            "is_fixed_fee": False,
            "bill_by": "Project",
            "hourly_rate": rate,
            "budget_by": "none",
            "budget_is_monthly": False,
            "notify_when_over_budget": False,
            "show_budget_to_all": False,
            "cost_budget_include_expenses": False,
            "currency": None,
        }
        for n, rate in enumerate(RATES)
    ]
    people = [
        {
            **f.base(),
            "email": f"person{n}@invoice-bench.example",
            "first_name": "Person",
            "last_name": str(n),
            "user_type": "human",
            "role": "member",
            "is_contractor": False,
            "is_active": True,
            "has_access_to_all_future_projects": False,
        }
        for n in range(PEOPLE)
    ]
    assignments = [
        {**f.base(), "project_id": p["id"], "task_id": cat.task_ids[0], "is_active": True,
         "billable": True}
        for p in projects
    ]  # fmt: skip
    return client, projects, people, assignments


def _entries(
    f: Factory, projects: list[Row], people: list[Row], task_id: Any, count: int
) -> Iterator[Row]:
    """`count` billable, unbilled entries in March 2026, most with clock times: each person
    logs 15 min to 3 h blocks starting anywhere from 8:00 to 18:00, so theirs often overlap."""
    rng = f.rng
    first = date(2026, 3, 1)
    for n in range(count):
        project = projects[n % len(projects)]
        day = first + timedelta(days=rng.randrange(31))
        seconds = rng.randint(900, 3 * 3600)
        started = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
            seconds=rng.randint(8 * 3600, 18 * 3600)
        )
        timed = rng.random() < 0.9
        yield {
            "id": new_id(),
            "account_id": f.account_id,
            "created_at": started,
            "updated_at": started,
            "user_id": people[rng.randrange(len(people))]["id"],
            "project_id": project["id"],
            "task_id": task_id,
            "spent_date": day,
            "started_at": started if timed else None,
            "ended_at": started + timedelta(seconds=seconds) if timed else None,
            "duration_seconds": seconds,
            "is_running": False,
            "timer_started_at": None,
            "notes": f"Work item {n}",
            "billable": True,
            "billable_rate": project["hourly_rate"],
            "cost_rate": None,
            "source": "web",
            "metadata": None,
            "external_ref_type": None,
            "external_ref_id": None,
            "approval_status": "approved",
            "rejection_reason": None,
            "submitted_at": None,
            "approved_at": None,
            "approved_by_id": None,
        }


def fill(url: str, entries: int) -> tuple[Catalogue, Billed]:
    cat = generate(url, Sizes(users=5, clients=5, projects=20, tasks=5, users_per_project=2))
    f = Factory(cat.account_id, seed=7)
    client, projects, people, assignments = _client_rows(f, cat)
    engine = create_engine(url)
    with engine.begin() as conn:
        insert_rows(conn, Client.__table__, [client])
        insert_rows(conn, Project.__table__, projects)
        insert_rows(conn, User.__table__, people)
        insert_rows(conn, TaskAssignment.__table__, assignments)
        rows = _entries(f, projects, people, cat.task_ids[0], entries)
        insert_fast(conn, TimeEntry.__table__, rows)
        store_figures(conn, cat.account_id)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if url.startswith("sqlite") else "VACUUM ANALYZE"))
    engine.dispose()
    return cat, Billed(str(client["id"]), entries)


def _call(
    port: int, token: str, method: str, path: str, body: Any = None
) -> tuple[int, Any, float]:
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        started = time.perf_counter()
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        ms = (time.perf_counter() - started) * 1000
        return response.status, json.loads(data) if data else None, ms
    finally:
        conn.close()


@dataclass
class Result:
    engine: str
    entries: int
    generate_s: float
    create_ms: dict[str, list[float]] = field(default_factory=dict)
    delete_ms: list[float] = field(default_factory=list)
    hours: dict[str, str] = field(default_factory=dict)


def run_engine(engine: str, entries: int, rounds: int) -> Result:
    with database(engine) as url:
        started = time.perf_counter()
        cat, billed = fill(url, entries)
        result = Result(engine, entries, time.perf_counter() - started)
        print(
            f"[{engine}] generated {entries:,} entries in {result.generate_s:.0f}s", file=sys.stderr
        )
        with Server(url) as server:
            for _ in range(rounds):
                for strategy in ("add", "merge"):
                    body = {"client_id": billed.client_id, "overlap_strategy": strategy, **PERIOD}
                    status, invoice, ms = _call(
                        server.port, cat.token, "POST", "/api/v2/invoices", body
                    )
                    if status != 201:
                        raise RuntimeError(f"create answered {status}: {invoice}")
                    result.create_ms.setdefault(strategy, []).append(ms)
                    hours = sum(Decimal(str(line["quantity"])) for line in invoice["line_items"])
                    result.hours[strategy] = f"{hours} h, {invoice['amount']} {invoice['currency']}"
                    status, _, ms = _call(
                        server.port, cat.token, "DELETE", f"/api/v2/invoices/{invoice['id']}"
                    )
                    if status != 200:
                        raise RuntimeError(f"delete answered {status}")
                    result.delete_ms.append(ms)
        return result


def render(result: Result) -> tuple[str, bool]:
    budget = BUDGETS_MS[result.engine]
    lines = [f"== {result.engine}: {result.entries:,} billable entries in the period =="]
    lines.append(f"{'create from work':<22}{'p50 ms':>9}{'max ms':>9}{'budget':>9}  ok  billed")
    passed = True
    for strategy, samples in result.create_ms.items():
        p50 = statistics.median(samples)
        ok = p50 <= budget
        passed &= ok
        lines.append(
            f"{strategy:<22}{p50:>9.0f}{max(samples):>9.0f}{budget:>9.0f}  "
            f"{'yes' if ok else 'NO':<3} {result.hours[strategy]}"
        )
    deletes = result.delete_ms
    lines.append(f"{'delete (releases)':<22}{statistics.median(deletes):>9.0f}{max(deletes):>9.0f}")
    return "\n".join(lines), passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.invoices", description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="invoices per strategy (3)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget fails")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    passed = True
    for engine in engines:
        report, ok = render(run_engine(engine, args.entries, args.rounds))
        passed &= ok
        print(report)
        print()
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
