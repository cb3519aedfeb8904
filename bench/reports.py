"""`python -m bench.reports`: reports, stats, search and export over a big ledger.

For each engine: a fresh database, the catalogue (bench/generate.py) and the ledger
(bench/generate_ledger.py: 1,000,000 time entries over four years, 100,000 outcomes,
100,000 expenses), ANALYZE, then the real server under uvicorn (bench/server.py). Each
endpoint is called `--repeat` times one after another after a warm-up, and its latency p50
(and p90, max) is compared with its budget. Then the CSV export of every time entry is read
to the end EXPORT_RUNS times after a warm-up while the server's memory is sampled: the
median rows/s and the largest peak RSS growth.

    python -m bench.reports --engine both            # the full size (a few minutes each)
    python -m bench.reports --time-entries 100000    # a quick look
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from bench.generate import Sizes, generate
from bench.generate_ledger import LedgerSizes, fill_ledger
from bench.server import HOST, Server, database

YEAR = {"from": "2025-01-01", "to": "2025-12-31"}
# p50 budgets in milliseconds, per engine.
BUDGETS: dict[str, dict[str, float]] = {
    "team_time": {"sqlite": 300, "postgresql": 150},
    "agent_summary": {"sqlite": 300, "postgresql": 150},
    "stats_by_day": {"sqlite": 300, "postgresql": 300},
    "search": {"sqlite": 50, "postgresql": 50},
}
EXPORT_MIN_ROWS_PER_S = 100_000
EXPORT_RUNS = 3  # medians, as for the endpoints (a single run moved by +-8% here)
EXPORT_MAX_GROWTH_MB = 100


@dataclass
class Timing:
    name: str
    path: str
    samples_ms: list[float] = field(default_factory=list)
    status: int = 0
    bytes: int = 0

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


@dataclass
class Export:
    rows: int
    seconds: float
    rss_before_kib: int
    rss_peak_kib: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def growth_mb(self) -> float:
        return (self.rss_peak_kib - self.rss_before_kib) / 1024


@dataclass
class Result:
    engine: str
    counts: dict[str, int]
    generate_s: float
    timings: list[Timing]
    exports: list[Export]


def _get(port: int, token: str, path: str) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        started = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = response.read()
        return response.status, body, (time.perf_counter() - started) * 1000
    finally:
        conn.close()


def measure(server: Server, token: str, name: str, path: str, repeat: int) -> Timing:
    timing = Timing(name, path)
    for _ in range(2):  # warm-up: caches, statement compilation
        _get(server.port, token, path)
    for _ in range(repeat):
        status, body, ms = _get(server.port, token, path)
        timing.status, timing.bytes = status, len(body)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")
        timing.samples_ms.append(ms)
    return timing


def export_all(server: Server, token: str) -> Export:
    """Read the CSV export of every entry to the end, sampling the server's RSS."""
    peak = before = server.rss_kib()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server.rss_kib())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn = http.client.HTTPConnection(HOST, server.port, timeout=600)
    started = time.perf_counter()
    try:
        conn.request(
            "GET",
            "/api/v2/time_entries/export?format=csv",
            headers={"Authorization": f"Bearer {token}"},
        )
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"export answered {response.status}")
        lines = 0
        while chunk := response.read(256 * 1024):
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    finally:
        conn.close()
        done.set()
        sampler.join()
    return Export(rows=lines - 1, seconds=seconds, rss_before_kib=before, rss_peak_kib=peak)


def _analyze(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE" if url.startswith("sqlite") else "VACUUM ANALYZE"))
    engine.dispose()


def run_engine(engine: str, ledger_sizes: LedgerSizes, repeat: int) -> Result:
    with database(engine) as url:
        started = time.perf_counter()
        cat = generate(url, Sizes())
        db = create_engine(url)
        with db.begin() as conn:
            ledger = fill_ledger(conn, cat, ledger_sizes)
        db.dispose()
        _analyze(url)
        generate_s = time.perf_counter() - started
        print(f"[{engine}] generated {ledger.counts} in {generate_s:.0f}s", file=sys.stderr)
        agent = ledger.agent_ids[0]
        paths = {
            "team_time": f"/api/v2/reports/time/team?{urlencode(YEAR)}",
            "agent_summary": "/api/v2/reports/agent_summary?"
            + urlencode({**YEAR, "user_id": agent}),
            "stats_by_day": f"/api/v2/time_entries/stats?{urlencode({**YEAR, 'group_by': 'day'})}",
            "search": "/api/v2/time_entries/search?q=kubernetes",
            # for the record (no budget): a common word, a project report, the whole range
            "search_common_word": "/api/v2/time_entries/search?q=billing",
            "projects_time": f"/api/v2/reports/time/projects?{urlencode(YEAR)}",
            "team_time_4_years": "/api/v2/reports/time/team?from=2023-01-01&to=2026-12-31",
        }
        with Server(url) as server:
            timings = [measure(server, cat.token, n, p, repeat) for n, p in paths.items()]
            export_all(server, cat.token)  # warm-up, as for the endpoints
            exported = [export_all(server, cat.token) for _ in range(EXPORT_RUNS)]
        return Result(engine, ledger.counts, generate_s, timings, exported)


def render(result: Result) -> tuple[str, bool]:
    lines = [
        f"== {result.engine}: {sum(result.counts.values()):,} rows, "
        f"generated in {result.generate_s:.0f}s =="
    ]
    lines.append(f"{'endpoint':<22}{'p50 ms':>9}{'p90 ms':>9}{'max ms':>9}{'budget':>9}  ok")
    passed = True
    for t in result.timings:
        budget = BUDGETS.get(t.name, {}).get(result.engine)
        ok = budget is None or t.p50 <= budget
        passed &= ok
        mark = "" if budget is None else ("yes" if ok else "NO")
        limit = "-" if budget is None else f"{budget:.0f}"
        lines.append(
            f"{t.name:<22}{t.p50:>9.1f}{t.p90:>9.1f}{max(t.samples_ms):>9.1f}{limit:>9}  {mark}"
        )
    if result.exports:
        rates = [e.rows_per_s for e in result.exports]
        rate = statistics.median(rates)
        growth = max(e.growth_mb for e in result.exports)
        fast = rate >= EXPORT_MIN_ROWS_PER_S
        lean = growth < EXPORT_MAX_GROWTH_MB
        passed &= fast and lean
        each = ", ".join(f"{r:,.0f}" for r in rates)
        lines.append(
            f"csv export of {result.exports[0].rows:,} rows: median {rate:,.0f} rows/s of "
            f"{each} (budget >= {EXPORT_MIN_ROWS_PER_S:,}: {'yes' if fast else 'NO'}); "
            f"server RSS growth at most {growth:.0f} MB "
            f"(budget < {EXPORT_MAX_GROWTH_MB}: {'yes' if lean else 'NO'})"
        )
    return "\n".join(lines), passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--time-entries", type=int, default=LedgerSizes.time_entries)
    parser.add_argument("--expenses", type=int, default=LedgerSizes.expenses)
    parser.add_argument("--outcomes", type=int, default=LedgerSizes.outcomes)
    parser.add_argument("--repeat", type=int, default=15, help="calls per endpoint (15)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget fails")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = LedgerSizes(
        time_entries=args.time_entries, expenses=args.expenses, outcomes=args.outcomes
    )
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    results = [run_engine(engine, sizes, args.repeat) for engine in engines]
    passed = True
    for result in results:
        report, ok = render(result)
        passed &= ok
        print(report)
        print()
    if args.json:
        payload = [
            {**asdict(r), "timings": [{**asdict(t), "p50": t.p50, "p90": t.p90} for t in r.timings]}
            for r in results
        ]
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
