"""The figures table (medians over the rounds) and the performance budget."""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from importlib.metadata import version
from statistics import median
from typing import Any

from bench.runner import ENDPOINTS, HELLO, ME, EngineResult, Run
from bench.server import ROOT

RATIO_AT = 16  # /users/me must reach RATIO of /hello's throughput at this many clients
RATIO = 0.5
STALL_AT = 64  # no 5xx and no stall at this many clients
STALL_REQUEST_S = 5.0  # a request slower than this is a stall
STALL_GAP_S = 1.0  # so is a stretch this long with no response at all


@dataclass(frozen=True)
class Check:
    passed: bool | None  # None: not measured in this run
    text: str

    @property
    def label(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a "}[self.passed]


def summarise(runs: list[Run]) -> dict[str, Any]:
    """Medians of the rates and latencies; totals of the failures; worst of the extremes."""
    return {
        "rps": median(r["rps"] for r in runs),
        "p50_ms": median(r["p50_ms"] for r in runs),
        "p99_ms": median(r["p99_ms"] for r in runs),
        "max_ms": max(r["max_ms"] for r in runs),
        "max_gap_s": max(r["max_gap_s"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "status_5xx": sum(r["status_5xx"] for r in runs),
        "errors": sum(r["errors"] + r["timeouts"] for r in runs),
        "server_cpu": median(r["server_cpu"] for r in runs),
        "server_us_per_req": median(r["server_us_per_req"] for r in runs),
        "client_cpu": median(r["client_cpu"] for r in runs),
    }


def budget(result: EngineResult) -> list[Check]:
    checks = []
    hello, me = result.runs.get((RATIO_AT, HELLO.name)), result.runs.get((RATIO_AT, ME.name))
    if hello and me:
        # Runs of one round ran back to back, so their ratio cancels most machine noise.
        pairs = zip(hello, me, strict=True)
        ratio = median(m["rps"] / h["rps"] if h["rps"] else 0.0 for h, m in pairs)
        checks.append(
            Check(
                ratio >= RATIO,
                f"GET /users/me >= {RATIO:.0%} of /hello req/s at {RATIO_AT} clients: "
                f"{ratio:.0%} (median of {len(me)} paired rounds)",
            )
        )
    else:
        checks.append(Check(None, f"/users/me vs /hello at {RATIO_AT} clients: not run"))
    at_stall = [s for (c, _), runs in result.runs.items() if c == STALL_AT for s in runs]
    if not at_stall:
        checks.append(Check(None, f"no 5xx and no stall at {STALL_AT} clients: not run"))
        return checks
    failed_5xx = sum(r["status_5xx"] for r in at_stall)
    broken = sum(r["errors"] for r in at_stall)
    checks.append(
        Check(
            failed_5xx == 0 and broken == 0,
            f"{STALL_AT} clients: no 5xx ({failed_5xx}) and no dropped connections ({broken})",
        )
    )
    slowest = max(r["max_ms"] for r in at_stall) / 1000
    gap = max(r["max_gap_s"] for r in at_stall)
    timeouts = sum(r["timeouts"] for r in at_stall)
    first = max(r["first_ms"] for r in at_stall) / 1000
    checks.append(
        Check(
            slowest <= STALL_REQUEST_S and gap <= STALL_GAP_S and timeouts == 0,
            f"{STALL_AT} clients: no stall (slowest request {slowest:.2f}s, limit"
            f" {STALL_REQUEST_S:g}s; longest silence {gap:.2f}s, limit {STALL_GAP_S:g}s;"
            f" timeouts {timeouts}; slowest first response of a run {first:.2f}s)",
        )
    )
    return checks


def source_state() -> str:
    """The commit the figures belong to, `-dirty` when the working tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT, check=False).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


HEADER = (
    f"{'clients':>7}  {'endpoint':<19} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    f" {'non2xx':>6} {'5xx':>4} {'err':>4} {'srv CPU':>7} {'srv us/req':>10} {'client CPU':>10}"
)
PATHS = {e.name: e.path.removeprefix("/api/v2") for e in ENDPOINTS}


def render(result: EngineResult) -> str:
    opts, cat = result.options, result.catalogue
    lines = [
        f"== {result.engine}: {', '.join(f'{n} {k}' for k, n in cat.counts.items())}"
        f" (generated in {cat.seconds:.1f}s)",
        f"   source {source_state()}; uvicorn {version('uvicorn')}, 1 worker,"
        f" Python {platform.python_version()};"
        f" {opts.rounds} interleaved rounds x {opts.duration:g}s per run; medians over rounds",
        HEADER,
    ]
    for concurrency in opts.concurrency:
        for endpoint in ENDPOINTS:
            runs = result.runs.get((concurrency, endpoint.name))
            if not runs:
                continue
            s = summarise(runs)
            lines.append(
                f"{concurrency:>7}  {'GET ' + PATHS[endpoint.name]:<19} {s['rps']:>7.0f}"
                f" {s['p50_ms']:>7.1f} {s['p99_ms']:>7.1f} {s['max_ms']:>7.0f}"
                f" {s['non_2xx']:>6} {s['status_5xx']:>4} {s['errors']:>4}"
                f" {s['server_cpu']:>7.0%} {s['server_us_per_req']:>10.0f}"
                f" {s['client_cpu']:>10.0%}"
            )
    rss = ", ".join(f"after {c} clients {_mib(k)}" for c, k in result.rss_kib.items())
    lines.append(f"   server RSS: idle after warm-up {_mib(result.idle_rss_kib)}; {rss}")
    lines.append("   budget:")
    lines.extend(f"     [{check.label}] {check.text}" for check in budget(result))
    return "\n".join(lines)


def as_json(result: EngineResult) -> dict[str, Any]:
    return {
        "engine": result.engine,
        "counts": result.catalogue.counts,
        "summary": {f"{c}/{name}": summarise(runs) for (c, name), runs in result.runs.items()},
        "runs": {f"{c}/{name}": runs for (c, name), runs in result.runs.items()},
        "rss_kib": result.rss_kib,
        "idle_rss_kib": result.idle_rss_kib,
        "budget": [{"passed": c.passed, "check": c.text} for c in budget(result)],
    }
