"""A lean HTTP/1.1 keep-alive load generator over raw asyncio streams (httpx costs more CPU
per request than the server under test spends, so it would measure itself).

N connections each send one GET, read the status line, headers and body, record the latency,
and repeat until the deadline or the request cap; then the in-flight requests finish. A
watchdog aborts any request older than --timeout, so a run always ends by itself (at most
duration + timeout + 1 s). Only 127.0.0.1 is ever contacted.

Runs in its own process; prints one JSON object (see `Stats.summary`):

    BENCH_TOKEN=tlk_... python -m bench.loadgen --port 8000 --path /api/v2/users/me
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"


@dataclass
class Stats:
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)
    errors: int = 0  # connection failures and malformed responses
    timeouts: int = 0
    sent: int = 0

    def record(self, status: int, started: float, ended: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(ended - started)
        self.finished_at.append(ended)

    def summary(self, t0: float, deadline: float, cpu: float) -> dict[str, object]:
        # The run lasts until its last response: requests in flight at the deadline count,
        # and so does the time they took (with 64 slow requests that tail is not small).
        elapsed = max([deadline, *self.finished_at]) - t0
        ok_count = sum(n for s, n in self.statuses.items() if 200 <= s < 300)
        lat = sorted(self.latencies)
        # Longest stretch of the measured window in which no response arrived (its start and
        # the deadline count as edges, so a server that hangs at either end shows up too).
        edges = [t0, *sorted(min(t, deadline) for t in self.finished_at), deadline]
        max_gap = max(b - a for a, b in itertools.pairwise(edges))
        return {
            "requests": len(lat),
            "ok": ok_count,
            "non_2xx": len(lat) - ok_count,
            "status_5xx": sum(n for s, n in self.statuses.items() if s >= 500),
            "errors": self.errors,
            "timeouts": self.timeouts,
            "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
            "seconds": round(elapsed, 3),
            "rps": ok_count / elapsed,  # 2xx only: a fast 401 or 500 is not capacity
            "p50_ms": _percentile(lat, 0.50) * 1000,
            "p99_ms": _percentile(lat, 0.99) * 1000,
            "max_ms": (lat[-1] if lat else 0.0) * 1000,
            "first_ms": ((min(self.finished_at) - t0) if lat else elapsed) * 1000,
            "max_gap_s": max_gap,
            "client_cpu": cpu / elapsed,  # share of one core the load generator used
        }


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class BadResponse(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep_alive) after consuming one whole response."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise BadResponse(head[:40])
    status = int(head[9:12])
    lower = head.lower()
    keep_alive = b"\r\nconnection: close" not in lower
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        await reader.readexactly(int(lower[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # no trailers are expected
    else:
        await reader.read()  # body ends with the connection
        keep_alive = False
    return status, keep_alive


class Connection:
    def __init__(self, port: int, request: bytes, stats: Stats) -> None:
        self.port = port
        self.request = request
        self.stats = stats
        self.writer: asyncio.StreamWriter | None = None
        self.reader: asyncio.StreamReader | None = None
        self.in_flight_since: float | None = None
        self.aborted = False

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    def abort(self) -> None:
        """Called by the watchdog: the request is too old; drop the connection."""
        self.aborted = True
        if self.writer is not None:
            self.writer.transport.abort()

    async def run(self, deadline: float, max_requests: int) -> None:
        stats, request, clock = self.stats, self.request, time.perf_counter
        while clock() < deadline and stats.sent < max_requests:
            if self.writer is None or self.reader is None:
                try:
                    await self.connect()
                except OSError:
                    stats.errors += 1
                    await asyncio.sleep(0.05)
                    continue
            assert self.writer is not None and self.reader is not None
            stats.sent += 1
            started = self.in_flight_since = clock()
            try:
                self.writer.write(request)
                status, keep_alive = await read_response(self.reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, BadResponse):
                if self.aborted:
                    stats.timeouts += 1
                else:
                    stats.errors += 1
                self.close()
                continue
            finally:
                self.in_flight_since = None
            stats.record(status, started, clock())
            if not keep_alive:
                self.close()
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            if self.aborted:
                self.writer.transport.abort()
            else:
                self.writer.close()
        self.writer = self.reader = None
        self.aborted = False


async def _watchdog(connections: list[Connection], timeout: float) -> None:
    while True:
        await asyncio.sleep(0.05)
        now = time.perf_counter()
        for conn in connections:
            since = conn.in_flight_since
            if since is not None and now - since > timeout and not conn.aborted:
                conn.abort()


def build_request(path: str, port: int, token: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def run_load(
    port: int,
    path: str,
    *,
    concurrency: int,
    duration: float,
    token: str | None = None,
    timeout: float = 10.0,
    max_requests: int = 10_000_000,
) -> dict[str, object]:
    stats = Stats()
    request = build_request(path, port, token)
    connections = [Connection(port, request, stats) for _ in range(concurrency)]
    await asyncio.gather(*(c.connect() for c in connections))  # connecting is not timed
    watchdog = asyncio.create_task(_watchdog(connections, timeout))
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    deadline = t0 + duration
    await asyncio.gather(*(c.run(deadline, max_requests) for c in connections))
    watchdog.cancel()
    return stats.summary(t0, deadline, _cpu_seconds() - cpu0)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="keep-alive GET load against 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="abort a request after")
    parser.add_argument("--max-requests", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # plain asyncio works, with a little more client CPU per request
        uvloop = None
    runner = getattr(uvloop, "run", asyncio.run)
    result = runner(
        run_load(
            args.port,
            args.path,
            concurrency=args.concurrency,
            duration=args.duration,
            token=os.environ.get("BENCH_TOKEN"),
            timeout=args.timeout,
            max_requests=args.max_requests,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
