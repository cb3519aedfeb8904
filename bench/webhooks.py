"""The webhook benchmark: `python -m bench.webhooks`.

Delivery: 10,000 events (client.created, committed 100 to a transaction as fast as the
service can write them) to 10 subscriptions on one local receiver, so 100,000 deliveries,
with 1 and then 4 `timeledger worker` processes. Reported: deliveries per second (from the
first commit to the last receipt) and p50/p99 of the time from an event's creation (inside
its transaction, just before commit) to its receipt. The burst queues far more work than the
workers can send at once, so those latencies are mostly time spent waiting in the queue; a
paced run (events spread evenly at a rate the workers keep up with) shows the latency of an
unloaded system (one event per commit).

API: POST /api/v2/clients throughput of one server process, first with no subscriptions,
then with 10 subscriptions while workers deliver every create; the budget is that the
second is within 20% of the first.

The receiver is a minimal asyncio HTTP server in its own process, answering 200 at once.
Everything runs on 127.0.0.1, on a fresh database per run, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import create_engine

from bench.loadgen import read_response
from bench.server import HOST, ROOT, Server, database, free_port
from timeledger.server import migrate
from timeledger.server.accounts import keys
from timeledger.server.accounts.bootstrap import init_account
from timeledger.server.accounts.schemas import AccountCreate
from timeledger.server.catalog import service as catalog
from timeledger.server.catalog.schemas import ClientCreate
from timeledger.server.config import Settings
from timeledger.server.db import Database
from timeledger.server.webhooks import service as webhooks
from timeledger.server.webhooks.schemas import WebhookCreate
from timeledger.server.webhooks.ssrf import TargetPolicy

API_BUDGET = 0.8  # creates/s while delivering, as a share of creates/s with no subscriptions
RELAXED = {"TIMELEDGER_WEBHOOKS_ALLOW_HTTP": "1", "TIMELEDGER_WEBHOOKS_ALLOW_PRIVATE": "1"}


# --- the receiver (its own process) ---------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.count = 0
        self.latencies: list[float] = []
        self.last = 0.0

    def stats(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

        return {
            "received": self.count,
            "unique": len(self.ids),
            "p50_s": pct(0.5),
            "p99_s": pct(0.99),
            "last": self.last,
        }


def _receive_forever(port: int) -> None:
    tally = Tally()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal tally
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                answer = b""
                if path == "/stats":
                    answer = json.dumps(tally.stats()).encode()
                elif path == "/reset":
                    tally = Tally()
                else:
                    now = time.time()
                    created = datetime.fromisoformat(json.loads(body)["created_at"])
                    tally.count += 1
                    tally.ids.add(headers["webhook-id"])
                    tally.latencies.append(now - created.timestamp())
                    tally.last = now
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer)
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, HOST, port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_receive_forever, args=(self.port,), daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def _call(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.url(path), data=b"", timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def stats(self) -> dict[str, Any]:
        return self._call("/stats")

    def reset(self) -> None:
        self._call("/reset")

    def __enter__(self) -> Receiver:
        self._process.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                self.stats()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def __exit__(self, *_: object) -> None:
        self._process.terminate()
        self._process.join(5)


# --- the database side ----------------------------------------------------------------------


@dataclass
class Tenant:
    database: Database
    token: str


@contextmanager
def tenant(engine: str) -> Iterator[Tenant]:
    """A fresh, migrated database with one account."""
    with database(engine) as url:
        sa_engine = create_engine(url)
        migrate.upgrade(sa_engine)
        sa_engine.dispose()
        db = Database(Settings(database_url=url, webhooks_in_process=False))
        try:
            with db.transaction(write=True) as session:
                new = init_account(
                    session, AccountCreate(name="Bench", plan="enterprise"), "owner@bench.example"
                )
            yield Tenant(db, new.token)
        finally:
            db.dispose()


def subscribe(tenant: Tenant, receiver: Receiver, count: int) -> None:
    with tenant.database.transaction(write=True) as session:
        actor = keys.authenticate(session, tenant.token).actor
        for n in range(count):
            command = WebhookCreate(url=receiver.url(f"/hook/{n}"), events=["client.created"])
            webhooks.create_subscription(session, actor, command, TargetPolicy(True, True))


def emit(tenant: Tenant, count: int, per_commit: int = 100, rate: float | None = None) -> None:
    """`count` client.created events, `per_commit` to a transaction; at most `rate` events/s."""
    started = time.perf_counter()
    for first in range(0, count, per_commit):
        if rate is not None:
            time.sleep(max(0.0, started + first / rate - time.perf_counter()))
        with tenant.database.transaction(write=True) as session:
            actor = keys.authenticate(session, tenant.token).actor
            for n in range(first, min(first + per_commit, count)):
                catalog.create_client(session, actor, ClientCreate(name=f"Client {n}"))


@contextmanager
def workers(url: str, count: int, concurrency: int) -> Iterator[list[subprocess.Popen[str]]]:
    env = {**os.environ, **RELAXED, "TIMELEDGER_DATABASE_URL": url, "TIMELEDGER_LOG_LEVEL": "error"}
    command = [sys.executable, "-m", "timeledger.cli.main", "worker", "--json"]
    processes = [
        subprocess.Popen(
            [*command, "--concurrency", str(concurrency)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline(), "worker failed"
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(receiver: Receiver, expected: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = receiver.stats()
        if stats["received"] >= expected or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


# --- the runs -------------------------------------------------------------------------------


def delivery_run(
    args: argparse.Namespace, receiver: Receiver, worker_count: int, rate: float | None
) -> dict[str, Any]:
    events = args.paced_events if rate else args.events
    expected = events * args.subscriptions
    with tenant(args.engine) as t:
        subscribe(t, receiver, args.subscriptions)
        receiver.reset()
        url = t.database.url
        with workers(url, worker_count, args.concurrency):
            started = time.time()
            emit(t, events, per_commit=1 if rate else 100, rate=rate)
            emitted = time.time() - started
            stats = wait_for(receiver, expected, timeout=args.timeout)
    elapsed = stats["last"] - started
    return {
        "workers": worker_count,
        "events": events,
        "deliveries": stats["received"],
        "duplicates": stats["received"] - stats["unique"],
        "missing": expected - stats["unique"],
        "emit_s": round(emitted, 2),
        "seconds": round(elapsed, 2),
        "deliveries_per_s": round(stats["received"] / elapsed) if elapsed > 0 else 0,
        "p50_ms": round(stats["p50_s"] * 1000),
        "p99_ms": round(stats["p99_s"] * 1000),
        "paced_events_per_s": rate,
    }


async def _post_load(port: int, token: str, duration: float, concurrency: int) -> float:
    """Creates per second: `concurrency` keep-alive connections POSTing new clients."""
    done = 0
    failed = 0
    deadline = time.perf_counter() + duration

    async def connection(number: int) -> None:
        nonlocal done, failed
        reader, writer = await asyncio.open_connection(HOST, port)
        sent = 0
        while time.perf_counter() < deadline:
            sent += 1
            body = json.dumps({"name": f"Load {number}-{sent}"}).encode()
            head = (
                f"POST /api/v2/clients HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            writer.write(head.encode() + body)
            status, _ = await read_response(reader)
            if status == 201:
                done += 1
            else:
                failed += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(n) for n in range(concurrency)))
    assert failed == 0, f"{failed} creates failed"
    return done / (time.perf_counter() - started)


def api_run(args: argparse.Namespace, receiver: Receiver, worker_count: int) -> dict[str, Any]:
    """Median creates/s over interleaved rounds: without subscriptions, then with them while
    `worker_count` workers deliver (each run on a fresh database)."""
    quiet: list[float] = []
    busy: list[float] = []
    backlog: list[int] = []
    os.environ["TIMELEDGER_WEBHOOKS_IN_PROCESS"] = "0"  # the server under test only serves
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    for _ in range(args.rounds):
        for subscribed in (False, True):
            with tenant(args.engine) as t, Server(t.database.url) as server:
                if subscribed:
                    subscribe(t, receiver, args.subscriptions)
                receiver.reset()
                with workers(t.database.url, worker_count, args.concurrency):
                    rate = asyncio.run(
                        _post_load(server.port, t.token, args.api_seconds, args.api_clients)
                    )
                    if subscribed:
                        backlog.append(receiver.stats()["received"])
                (busy if subscribed else quiet).append(rate)
    ratio = median(busy) / median(quiet)
    return {
        "workers": worker_count,
        "creates_per_s_without_subscriptions": round(median(quiet), 1),
        "creates_per_s_while_delivering": round(median(busy), 1),
        "ratio": round(ratio, 3),
        "budget": API_BUDGET,
        "passed": ratio >= API_BUDGET,
        "delivered_during_load": median(backlog),
    }


def render(results: dict[str, Any]) -> str:
    lines = [f"webhooks benchmark ({results['engine']}, {os.cpu_count()} CPUs)", ""]
    lines.append("workers  events  deliveries  dup  missing  seconds  deliveries/s  p50 ms  p99 ms")
    for run in results["delivery"]:
        paced = (
            f"  (paced at {run['paced_events_per_s']:g} events/s)"
            if run["paced_events_per_s"]
            else ""
        )
        lines.append(
            f"{run['workers']:>7}  {run['events']:>6}  {run['deliveries']:>10}  "
            f"{run['duplicates']:>3}  {run['missing']:>7}  {run['seconds']:>7}  "
            f"{run['deliveries_per_s']:>12}  {run['p50_ms']:>6}  {run['p99_ms']:>6}{paced}"
        )
    for api in results.get("api", []):
        verdict = "PASS" if api["passed"] else "FAIL"
        lines += [
            "",
            f"API creates/s: {api['creates_per_s_without_subscriptions']} with no subscriptions, "
            f"{api['creates_per_s_while_delivering']} while {api['workers']} worker(s) deliver "
            f"to {results['subscriptions']} subscriptions: {api['ratio']:.0%} "
            f"(budget {api['budget']:.0%}) {verdict}; "
            f"{api['delivered_during_load']:g} deliveries made during each loaded run",
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--workers", default="1,4", help="worker counts to run, e.g. 1,4")
    parser.add_argument("--concurrency", type=int, default=32, help="per worker")
    parser.add_argument("--paced-rate", type=float, default=50.0, help="events/s; 0: skip")
    parser.add_argument("--paced-events", type=int, default=1000)
    parser.add_argument("--api-seconds", type=float, default=5.0, help="0: skip the API runs")
    parser.add_argument("--api-clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="API rounds")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up waiting after")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    results: dict[str, Any] = {
        "engine": args.engine,
        "subscriptions": args.subscriptions,
        "delivery": [],
        "api": [],
    }
    with Receiver() as receiver:
        for count in counts:
            results["delivery"].append(delivery_run(args, receiver, count, None))
            if args.paced_rate:
                results["delivery"].append(delivery_run(args, receiver, count, args.paced_rate))
        if args.api_seconds:
            results["api"] = [api_run(args, receiver, counts[0])]
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
