"""`python -m bench.tracking`: time tracking under load, beside /hello and TimeTagger.

A database of 1,000,000 time entries (200 users, 2,000 projects; bench.tracking_data) and
one of 10,000 with the same catalogue, each served by one uvicorn process; TimeTagger 26.1.3
(bench.timetagger) holding as many records. In interleaved rounds, medians reported:
  - POST /time_entries (a finished entry) and a timer (POST is_running + PATCH /stop, each
    client as its own user) at 16 and 64 clients, beside /hello and TimeTagger's PUT /records;
  - GET /time_entries by user + date range and by project, first page and page 500, at one
    client on both databases, and at 16 clients beside /hello and TimeTagger's GET /records;
  - the server's RSS at 64 clients;
  - at 16 clients, the floor of the stack itself (bench/floor.py: FastAPI + Pydantic + one
    SQLAlchemy Core statement per request), printed beside the budget.
Then the SQL that the list service generates with its query plans, and the budget.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

from bench import floor
from bench.report import Check, summarise
from bench.runner import progress
from bench.server import HOST, ROOT, Server, database
from bench.timetagger import BATCH, VERSION, TimeTagger, ensure_venv, window
from bench.tracking_data import Tracking, build
from bench.tracking_plans import explain_list

BIG, SMALL = 1_000_000, 10_000
FLOOR_CREATE = "floor: POST one INSERT"
FLOOR_LIST = "floor: GET one SELECT of 10"
DEEP_PAGE = 500
MIB = 1024


@dataclass(frozen=True)
class Job:
    """One load run: a scenario against one of the servers."""

    name: str
    target: str  # "big", "small" or "tt"
    scenario: str
    path: str = ""


@dataclass
class Result:
    engine: str
    big: Tracking
    small: Tracking
    queries: dict[str, str]
    small_queries: dict[str, str]
    per_page: dict[str, int]
    tt_seconds: float = 0.0
    runs: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict)
    rss_kib: dict[str, int] = field(default_factory=dict)
    plans: str = ""
    notes: list[str] = field(default_factory=list)
    load: list[str] = field(default_factory=list)


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def run_load(server: Server, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    spec = {**spec, "port": server.port, "timeout": timeout}
    cpu_before, wall = server.cpu_seconds(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.tracking_load"],
        input=json.dumps(spec),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=spec["duration"] + timeout + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-3000:]}")
    run: dict[str, Any] = json.loads(done.stdout)
    cpu = server.cpu_seconds() - cpu_before  # over the whole run, aborted requests included
    run["server_cpu"] = cpu / (time.perf_counter() - wall)
    run["server_us_per_req"] = cpu / run["requests"] * 1e6 if run["requests"] else float("nan")
    return run


def drain(server: Server, path: str, headers: dict[str, str], limit: float) -> float:
    """Seconds until the server answers `path` within a second again and is idle: requests
    that the load generator gave up on may still be queued or running in the server, and
    must not slow the next run (the first 0.5 s is the idle check itself)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=limit)
        sent = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            answered = conn.getresponse().status == 200 and time.perf_counter() - sent < 1.0
            cpu = server.cpu_seconds()
            time.sleep(0.5)  # and no abandoned request still burning CPU in its threads
            if answered and server.cpu_seconds() - cpu < 0.1:
                return max(0.0, time.perf_counter() - started - 0.5)
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    return limit  # still busy: the runs after this one are slowed by it (shown as drain)


def threads(server: Server) -> int:
    return len(os.listdir(f"/proc/{server.pid}/task"))


def list_queries(t: Tracking, per_user: int, per_project: int, today: date) -> dict[str, str]:
    base = "/api/v2/time_entries?"
    user = f"user_id={t.busiest_user}&from={today - timedelta(days=365)}&to={today}"
    project = f"project_id={t.busiest_project}"
    return {
        "user p1": f"{base}{user}&page=1&per_page={per_user}",
        f"user p{DEEP_PAGE}": f"{base}{user}&page={DEEP_PAGE}&per_page={per_user}",
        "project p1": f"{base}{project}&page=1&per_page={per_project}",
        f"project p{DEEP_PAGE}": f"{base}{project}&page={DEEP_PAGE}&per_page={per_project}",
        "user 50": f"{base}{user}&page=1&per_page=50",
    }


def per_page(server: Server, token: str, path: str) -> int:
    """The largest page size up to 10 for which page 500 of `path` exists."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        total = int(json.loads(conn.getresponse().read())["total_entries"])
    finally:
        conn.close()
    return max(1, min(10, total // DEEP_PAGE))


class TimeTaggerFill(threading.Thread):
    """Loads TimeTagger in the background while the first database is generated."""

    def __init__(self, tt: TimeTagger, count: int) -> None:
        super().__init__(daemon=True)
        self.tt, self.count = tt, count
        self.seconds = 0.0
        self.spans: list[tuple[int, int]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        started = time.perf_counter()
        try:
            self.spans = self.tt.load_records(self.count)
        except BaseException as exc:  # reported by path()
            self.error = exc
        self.seconds = time.perf_counter() - started

    def path(self) -> str:
        """GET /records for a window of about 50 records, once the load is done."""
        self.join()
        if self.error is not None:
            raise RuntimeError(f"loading TimeTagger failed: {self.error}")
        a, b = window(self.spans)
        return f"/timetagger/api/v2/records?timerange={a}-{b}"


def jobs(result: Result, tt_path: str) -> dict[int, list[Job]]:
    writes = [
        Job("GET /hello", "big", "get", "/hello"),
        Job("POST /time_entries", "big", "create"),
        Job("timer POST+PATCH/stop", "big", "timer"),
        Job("TimeTagger PUT /records", "tt", "tt_put"),
    ]
    reads = [Job(f"GET {q} @big", "big", "get", p) for q, p in result.queries.items()]
    small = [Job(f"GET {q} @10k", "small", "get", p) for q, p in result.small_queries.items()]
    one = [j for pair in zip(reads[:4], small[:4], strict=True) for j in pair]
    least = [
        Job(FLOOR_CREATE, "floor", "create"),
        Job(FLOOR_LIST, "floor", "get", floor.LIST),
    ]
    return {
        1: one,
        16: [
            *writes,
            *reads,
            Job("TimeTagger GET /records 50", "tt", "tt_get", tt_path),
            *least,
        ],
        64: writes,
    }


def run_engine(engine: str, tt: TimeTaggerFill, opts: argparse.Namespace) -> Result:
    with ExitStack() as stack:
        big_url = stack.enter_context(database(engine))
        small_url = stack.enter_context(database(engine))
        progress(f"[{engine}] generating {opts.entries:,} entries ... ({loadavg()})")
        big = build(big_url, opts.entries)
        progress(f"[{engine}] {big.counts} in {big.catalogue.seconds + big.seconds:.0f}s")
        small = build(small_url, SMALL)
        floor_url = stack.enter_context(database(engine))
        servers = {
            "big": stack.enter_context(Server(big_url)),
            "small": stack.enter_context(Server(small_url)),
            "tt": tt.tt,
            "floor": stack.enter_context(Server(floor_url, factory=floor.FACTORY)),
        }
        today = datetime.now(UTC).date()
        owner = big.catalogue.token
        probe = list_queries(big, 1, 1, today)
        per_user = per_page(servers["big"], owner, probe["user p1"])
        per_project = per_page(servers["big"], owner, probe["project p1"])
        result = Result(
            engine=engine,
            big=big,
            small=small,
            queries=list_queries(big, per_user, per_project, today),
            small_queries=list_queries(small, per_user, per_project, today),
            per_page={"user": per_user, "project": per_project},
        )
        result.plans = explain_list(big_url, owner, result.queries)
        schedule = jobs(result, tt.path())
        result.tt_seconds = tt.seconds
        result.load.append(loadavg())
        specs = {"big": big, "small": small}
        probes = {
            "big": ("/api/v2/users/me", {"Authorization": f"Bearer {owner}"}),
            "small": ("/api/v2/users/me", {"Authorization": f"Bearer {small.catalogue.token}"}),
            "tt": ("/timetagger/api/v2/version", {"authtoken": tt.tt.token}),
            "floor": ("/healthz", {}),
        }

        def spec(job: Job, concurrency: int, duration: float) -> dict[str, Any]:
            data = specs.get(job.target, big)
            tokens = [tt.tt.token]
            if job.target != "tt":
                tokens = data.user_tokens if job.scenario in ("create", "timer") else [
                    data.catalogue.token]  # fmt: skip
            return {
                "scenario": job.scenario, "path": job.path, "tokens": tokens, "work": data.work,
                "concurrency": concurrency, "duration": duration,
            }  # fmt: skip

        for batch in schedule.values():  # warm-up: imports, caches, connections
            for job in batch:
                run_load(servers[job.target], spec(job, 1, 0.5), opts.timeout)
        result.rss_kib["idle"] = servers["big"].rss_kib()
        for number in range(1, opts.rounds + 1):
            for concurrency, batch in schedule.items():
                for job in batch:
                    server = servers[job.target]
                    run = run_load(server, spec(job, concurrency, opts.duration), opts.timeout)
                    run["rss_kib"] = server.rss_kib()
                    run["drain_s"] = drain(server, *probes[job.target], opts.drain)
                    if run["drain_s"] >= opts.drain:  # wedged: the next runs need a server
                        result.notes.append(
                            f"round {number} c={concurrency} {job.name}: the server was still"
                            f" stuck {opts.drain:g}s later (threads: {threads(server)}); restarted"
                        )
                        progress(f"[{engine}] {result.notes[-1]}")
                        server.stop()
                        server.start()
                    result.runs.setdefault((concurrency, job.name), []).append(run)
                    progress(
                        f"[{engine}] round {number}/{opts.rounds} c={concurrency:<3}"
                        f" {job.name:<32} {run['rps']:7.0f} req/s p50 {run['p50_ms']:7.1f}"
                        f" p99 {run['p99_ms']:7.1f} non2xx {run['non_2xx']}"
                        f" timeouts {run['timeouts']} drain {run['drain_s']:.1f}s"
                    )
        result.load.append(loadavg())
    return result


# --- report -----------------------------------------------------------------------------------


def ratio(result: Result, c: int, top: str, bottom: str) -> float | None:
    """Median over rounds of top/bottom req/s (runs of one round ran back to back)."""
    a, b = result.runs.get((c, top)), result.runs.get((c, bottom))
    if not a or not b:
        return None
    pairs = zip(a, b, strict=True)
    return median(x["rps"] / y["rps"] if y["rps"] else float(x["rps"] > 0) * 1e9 for x, y in pairs)


def p50(result: Result, c: int, name: str) -> float:
    return summarise(result.runs[(c, name)])["p50_ms"]


def budget(result: Result) -> list[Check]:
    checks = []
    for c in (16, 64):
        for name in ("POST /time_entries", "timer POST+PATCH/stop"):
            tt = ratio(result, c, name, "TimeTagger PUT /records")
            hello = ratio(result, c, name, "GET /hello")
            if tt is not None and hello is not None:
                checks.append(Check(tt >= 3, f"c={c} {name} >= 3x TimeTagger PUT: {tt:.1f}x"))
                checks.append(Check(hello >= 0.15, f"c={c} {name} >= 15% of hello: {hello:.0%}"))
    for name in ("POST /time_entries", "timer POST+PATCH/stop"):
        s = summarise(result.runs[(64, name)])
        checks.append(
            Check(
                s["status_5xx"] == 0 and s["errors"] == 0 and s["p99_ms"] < 500,
                f"c=64 {name}: 5xx {s['status_5xx']}, dropped {s['errors']},"
                f" p99 {s['p99_ms']:.0f} ms < 500 ms",
            )
        )
    for query in list(result.queries)[:4]:
        big, small = p50(result, 1, f"GET {query} @big"), p50(result, 1, f"GET {query} @10k")
        checks.append(Check(big <= 10, f"c=1 GET {query} @big p50 {big:.1f} ms <= 10 ms"))
        checks.append(
            Check(big <= 1.5 * small, f"c=1 GET {query} @big / @10k: {big / small:.2f}x <= 1.5x")
        )
    for query in result.queries:
        hello = ratio(result, 16, f"GET {query} @big", "GET /hello")
        if hello is not None:
            checks.append(Check(hello >= 0.10, f"c=16 GET {query} >= 10% of hello: {hello:.0%}"))
    tt = ratio(result, 16, "GET user 50 @big", "TimeTagger GET /records 50")
    if tt is not None:
        shown = f"{tt:.1f}x" if tt < 1e9 else "TimeTagger answered nothing within --timeout"
        checks.append(Check(tt >= 10, f"c=16 GET user 50 >= 10x TimeTagger GET 50: {shown}"))
    rss = max(r["rss_kib"] for (c, name), runs in result.runs.items() for r in runs if c == 64
              and "TimeTagger" not in name) / MIB  # fmt: skip
    checks.append(Check(rss <= 150, f"server RSS at 64 clients {rss:.0f} MiB <= 150 MiB"))
    return checks


def floor_lines(result: Result) -> list[str]:
    """What the stack allows at all (bench/floor.py), beside the budget's ratios."""
    create = ratio(result, 16, FLOOR_CREATE, "GET /hello")
    listing = ratio(result, 16, FLOOR_LIST, "GET /hello")
    tt = ratio(result, 16, FLOOR_CREATE, "TimeTagger PUT /records")
    if create is None or listing is None or tt is None:
        return []
    return [
        "   the stack's floor at c=16 (bench/floor.py: FastAPI + Pydantic + one SQLAlchemy Core"
        " statement, nothing else):",
        f"     a create is {create:.0%} of hello and {tt:.1f}x TimeTagger PUT;"
        f" a list of 10 is {listing:.0%} of hello",
    ]


HEADER = (
    f"{'clients':>7}  {'what':<34} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    f" {'non2xx':>6} {'5xx':>4} {'err':>4} {'srv CPU':>7} {'us/req':>7} {'drain s':>7}"
)


def render(result: Result, opts: argparse.Namespace) -> str:
    big, small = result.big, result.small
    lines = [
        f"== {result.engine}: @big {big.entries:,} entries ({big.counts['users']} users,"
        f" {big.counts['projects']} projects) generated in {big.seconds:.0f}s"
        f" (+ catalogue {big.catalogue.seconds:.0f}s);"
        f" @10k {small.entries:,} in {small.seconds:.1f}s",
        f"   TimeTagger {VERSION}: {big.entries:,} records loaded through PUT /records in"
        f" batches of {BATCH:,} in {result.tt_seconds:.0f}s (alongside the generation)",
        f"   {opts.rounds} interleaved rounds x {opts.duration:g}s, medians; machine:"
        f" {' -> '.join(result.load)}",
        f"   per_page: user+range {result.per_page['user']}, project {result.per_page['project']}"
        f" (so page {DEEP_PAGE} exists @big); 'user 50' = first page of 50 (TimeTagger: 50)",
        "   err: dropped connections + requests aborted after --timeout; drain s: longest wait"
        " after a run until the server answered a probe within 1 s (its backlog)",
        HEADER,
    ]
    for (c, name), runs in result.runs.items():
        s = summarise(runs)
        lines.append(
            f"{c:>7}  {name:<34} {s['rps']:>7.0f} {s['p50_ms']:>7.1f} {s['p99_ms']:>7.1f}"
            f" {s['max_ms']:>7.0f} {s['non_2xx']:>6} {s['status_5xx']:>4} {s['errors']:>4}"
            f" {s['server_cpu']:>7.0%} {s['server_us_per_req']:>7.0f}"
            f" {max(r['drain_s'] for r in runs):>7.1f}"
        )
    lines.append(f"   server RSS: idle {result.rss_kib['idle'] / MIB:.0f} MiB")
    lines.extend(f"   NOTE {note}" for note in result.notes)
    lines.extend(floor_lines(result))
    lines.append("   budget:")
    lines.extend(f"     [{c.label}] {c.text}" for c in budget(result))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.tracking", description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--entries", type=int, default=BIG, help="time entries (1,000,000)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run (3)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--timeout", type=float, default=10.0, help="abort a request after (s)")
    parser.add_argument(
        "--drain", type=float, default=60.0, help="wait at most this for a backlog (s)"
    )
    parser.add_argument("--no-plans", action="store_true", help="do not print the query plans")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the budget fails")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    # SIGTERM unwinds like an error, so servers stop and temporary databases go
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    engines = ["sqlite", "postgresql"] if opts.engine == "both" else [opts.engine]
    results, broken = [], []
    with TimeTagger(ensure_venv()) as tt:
        filler = TimeTaggerFill(tt, opts.entries)
        filler.start()
        for engine in engines:
            try:
                results.append(run_engine(engine, filler, opts))
            except Exception as exc:
                broken.append(f"== {engine}: not measured: {type(exc).__name__}: {exc}")
    return report(results, broken, opts)


def report(results: list[Result], broken: list[str], opts: argparse.Namespace) -> int:
    print()
    for result in results:
        print(render(result, opts), end="\n\n")
        if not opts.no_plans:
            print(result.plans, end="\n\n")
    for line in broken:
        print(line, end="\n\n")
    failed = bool(broken) or any(c.passed is False for r in results for c in budget(r))
    print(f"budget: {'FAIL' if failed else 'PASS'}" + ("" if opts.strict else " (report only)"))
    return 1 if failed and opts.strict else 0


if __name__ == "__main__":
    sys.exit(main())
