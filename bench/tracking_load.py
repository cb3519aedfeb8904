"""bench.loadgen's keep-alive client, for requests that are not one fixed GET: each connection
has its own token (its own user, so its own timer), writes carry a JSON body, and a timer is
a POST whose answer names the entry that the following PATCH .../stop stops.

Scenarios (a spec as JSON on stdin; prints bench.loadgen's summary as JSON):
  get     GET `path`                                   (one request per step)
  create  POST /api/v2/time_entries, a finished entry  (one request per step)
  timer   POST ... is_running, then PATCH .../stop     (two requests per step)
  tt_put  TimeTagger PUT /timetagger/api/v2/records, one record per request

A step only starts before the deadline, so a timer started is always stopped (unless the
watchdog aborts a request older than `timeout`); the run ends by itself.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.loadgen import HOST, BadResponse, Stats, _cpu_seconds, _watchdog

ENTRIES = "/api/v2/time_entries"
TT_RECORDS = "/timetagger/api/v2/records"


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(status, keep_alive, body) of one response; both servers send Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise BadResponse(head[:40])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise BadResponse(b"no content-length")
    end = lower.index(b"\r\n", at + 2)
    body = await reader.readexactly(int(lower[at + 17 : end]))
    return int(head[9:12]), b"\r\nconnection: close" not in lower, body


class Client:
    """One keep-alive connection acting as one user."""

    def __init__(self, spec: dict[str, Any], number: int, stats: Stats) -> None:
        self.spec = spec
        self.port = spec["port"]
        self.stats = stats
        tokens = spec["tokens"]
        token = tokens[number % len(tokens)]
        self.auth = (
            f"authtoken: {token}"
            if spec["scenario"].startswith("tt_")
            else (f"Authorization: Bearer {token}")
        )
        self.rng = random.Random(number)
        self.work = spec.get("work") or [["", ""]]
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.in_flight_since: float | None = None
        self.aborted = False

    def request(self, method: str, path: str, body: Any = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}", self.auth]
        data = b"" if body is None else json.dumps(body).encode()
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + data

    async def send(self, method: str, path: str, body: Any = None) -> tuple[int, bytes] | None:
        """One timed request; None when it failed (the connection is then closed)."""
        if self.writer is None:
            try:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            except OSError:
                self.stats.errors += 1
                await asyncio.sleep(0.05)
                return None
        assert self.reader is not None
        self.stats.sent += 1
        started = self.in_flight_since = time.perf_counter()
        try:
            self.writer.write(self.request(method, path, body))
            status, keep_alive, data = await read_response(self.reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, BadResponse):
            if self.aborted:
                self.stats.timeouts += 1
            else:
                self.stats.errors += 1
            self.close()
            return None
        finally:
            self.in_flight_since = None
        self.stats.record(status, started, time.perf_counter())
        if not keep_alive:
            self.close()
        return status, data

    async def step(self) -> None:
        scenario = self.spec["scenario"]
        project, task = self.rng.choice(self.work)
        today = datetime.now(UTC).date()
        if scenario == "get" or scenario == "tt_get":
            await self.send("GET", self.spec["path"])
        elif scenario == "create":
            day = today - timedelta(days=self.rng.randint(0, 30))
            body = {"project_id": project, "task_id": task, "spent_date": day.isoformat()}
            await self.send("POST", ENTRIES, {**body, "hours": 1.5, "notes": "bench create"})
        elif scenario == "timer":
            body = {"project_id": project, "task_id": task, "spent_date": today.isoformat()}
            answer = await self.send("POST", ENTRIES, {**body, "is_running": True})
            if answer and answer[0] == 201:
                entry = json.loads(answer[1])["id"]
                await self.send("PATCH", f"{ENTRIES}/{entry}/stop")
        elif scenario == "tt_put":
            now = int(time.time())
            record = {"key": secrets.token_hex(6), "mt": now, "t1": now - 5_400, "t2": now}
            await self.send("PUT", TT_RECORDS, [{**record, "ds": "bench create #bench"}])
        else:
            raise ValueError(f"unknown scenario {scenario!r}")

    async def run(self, deadline: float, max_steps: int, done: list[int]) -> None:
        while time.perf_counter() < deadline and done[0] < max_steps:
            done[0] += 1
            await self.step()
        self.close()

    def abort(self) -> None:
        self.aborted = True
        if self.writer is not None:
            self.writer.transport.abort()

    def close(self) -> None:
        if self.writer is not None:
            if self.aborted:
                self.writer.transport.abort()
            else:
                self.writer.close()
        self.writer = self.reader = None
        self.aborted = False


async def run_load(spec: dict[str, Any]) -> dict[str, object]:
    stats = Stats()
    clients = [Client(spec, n, stats) for n in range(spec["concurrency"])]
    for client in clients:  # connecting is not timed
        client.reader, client.writer = await asyncio.open_connection(HOST, client.port)
    watchdog = asyncio.create_task(_watchdog(clients, spec["timeout"]))  # type: ignore[arg-type]
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    deadline = t0 + spec["duration"]
    done = [0]
    max_steps = spec.get("max_steps", 10_000_000)
    await asyncio.gather(*(c.run(deadline, max_steps, done) for c in clients))
    watchdog.cancel()
    return stats.summary(t0, deadline, _cpu_seconds() - cpu0)


def main() -> None:
    spec = json.load(sys.stdin)
    try:
        import uvloop
    except ImportError:
        uvloop = None
    print(json.dumps(getattr(uvloop, "run", asyncio.run)(run_load(spec))))


if __name__ == "__main__":
    main()
