"""One engine's benchmark: a fresh database, the catalogue, a server, then the endpoints run
interleaved (hello, me, projects, hello, me, ...) for several rounds at each concurrency, so
noise on a shared machine hits every endpoint alike. The load generator is a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from bench.generate import Catalogue, Sizes, generate
from bench.server import ROOT, Server, database


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str


HELLO = Endpoint("hello", "/hello")
ME = Endpoint("me", "/api/v2/users/me")
PROJECTS = Endpoint("projects", "/api/v2/projects")
ENDPOINTS = (HELLO, ME, PROJECTS)


@dataclass(frozen=True)
class Options:
    duration: float = 3.0
    rounds: int = 5
    concurrency: tuple[int, ...] = (16, 64)
    timeout: float = 10.0
    warmup: float = 1.0
    access_log: bool = False
    sizes: Sizes = field(default_factory=Sizes)


Run = dict[str, Any]  # one loadgen summary plus the server's CPU during it


@dataclass
class EngineResult:
    engine: str
    options: Options
    catalogue: Catalogue
    runs: dict[tuple[int, str], list[Run]] = field(default_factory=dict)
    rss_kib: dict[int, int] = field(default_factory=dict)  # after each concurrency's runs
    idle_rss_kib: int = 0


def load(
    server: Server, endpoint: Endpoint, concurrency: int, duration: float, token: str, opts: Options
) -> Run:
    cmd = [
        sys.executable, "-m", "bench.loadgen", "--port", str(server.port),
        "--path", endpoint.path, "--concurrency", str(concurrency),
        "--duration", str(duration), "--timeout", str(opts.timeout),
    ]  # fmt: skip
    env = {**os.environ, "BENCH_TOKEN": token, "PYTHONPATH": str(ROOT)}
    cpu_before = server.cpu_seconds()
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + opts.timeout + 30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-3000:]}")
    run: Run = json.loads(done.stdout)
    cpu = server.cpu_seconds() - cpu_before
    run["server_cpu"] = cpu / run["seconds"]
    run["server_us_per_req"] = cpu / max(run["requests"], 1) * 1e6
    return run


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_engine(engine: str, opts: Options) -> EngineResult:
    with database(engine) as url:
        progress(f"[{engine}] generating the catalogue ...")
        catalogue = generate(url, opts.sizes)
        progress(f"[{engine}] {catalogue.counts} in {catalogue.seconds:.1f}s")
        result = EngineResult(engine=engine, options=opts, catalogue=catalogue)
        with Server(url, access_log=opts.access_log) as server:
            for endpoint in ENDPOINTS:  # first requests pay for imports, caches, connections
                load(server, endpoint, min(opts.concurrency), opts.warmup, catalogue.token, opts)
            result.idle_rss_kib = server.rss_kib()
            for concurrency in opts.concurrency:
                for number in range(1, opts.rounds + 1):
                    for endpoint in ENDPOINTS:
                        run = load(
                            server, endpoint, concurrency, opts.duration, catalogue.token, opts
                        )
                        result.runs.setdefault((concurrency, endpoint.name), []).append(run)
                        progress(
                            f"[{engine}] c={concurrency:<3} round {number}/{opts.rounds} "
                            f"{endpoint.name:<8} {run['rps']:8.0f} req/s  "
                            f"p50 {run['p50_ms']:6.1f} ms  p99 {run['p99_ms']:6.1f} ms"
                        )
                result.rss_kib[concurrency] = server.rss_kib()
    return result
