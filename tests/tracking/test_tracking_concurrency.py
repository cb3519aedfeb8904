"""Concurrency regressions (not a benchmark) against a real server process on 127.0.0.1:
64 clients creating and listing entries for ~3 s see no 5xx and no request slower than 5 s,
and 20 simultaneous timer starts for one user leave exactly one running timer.

Traffic goes only to the loopback server this test starts; every loop is bounded in time
and count."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from trackkit import V2, Work, set_company

from timeledger.server.db import Database
from timeledger.server.models import OutboxEvent, TimeEntry

CLIENTS = 64
DURATION = 3.0
MAX_REQUESTS_PER_CLIENT = 400
SLOW = 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(database_url: str, log: Path) -> Iterator[str]:
    """`timeledger serve` on a free loopback port over the test's database; its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "TIMELEDGER_DATABASE_URL": database_url,
        "TIMELEDGER_LOG_LEVEL": "warning",
        "TIMELEDGER_BACKGROUND_INTERVAL": "0",
        # Keeps the server's PostgreSQL pool (this + 4) well inside max_connections.
        "TIMELEDGER_MAX_CONCURRENCY": "32",
    }
    command = [sys.executable, "-m", "timeledger.cli.main", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-migrate"]
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"server exited: {log.read_text()}"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not start: {log.read_text()}"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def count(db: Database, model: Any, *where: Any) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[str]:
    with running_server(db.url, tmp_path / "server.log") as base:
        yield base


@pytest.mark.serial
def test_64_clients_creating_and_listing(
    server: str, tenant: Any, work: Work, db: Database
) -> None:
    headers = {"Authorization": f"Bearer {tenant.token}", "Keito-Account-Id": tenant.account_id}
    results: list[list[tuple[str, int, float]]] = [[] for _ in range(CLIENTS)]
    failures: list[str] = []
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        mine = results[n]
        with httpx.Client(base_url=server, headers=headers, timeout=SLOW * 3) as http:
            start.wait(timeout=30)
            deadline = time.monotonic() + DURATION
            for i in range(MAX_REQUESTS_PER_CLIENT):
                if time.monotonic() >= deadline:
                    break
                began = time.monotonic()
                try:
                    if i % 2 == 0:
                        day = f"2026-05-{1 + (n + i) % 28:02d}"
                        body = work.entry(spent_date=day, hours=0.25, notes=f"c{n} r{i}")
                        response = http.post(f"{V2}/time_entries", json=body)
                        kind = "create"
                    else:
                        params = {"per_page": 20, "project_id": work.project_id}
                        response = http.get(f"{V2}/time_entries", params=params)
                        kind = "list"
                except httpx.HTTPError as exc:
                    failures.append(f"client {n} request {i}: {type(exc).__name__}: {exc}")
                    return
                mine.append((kind, response.status_code, time.monotonic() - began))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    done = [r for rs in results for r in rs]
    errors = [r for r in done if r[1] >= 500]
    assert errors == [], errors[:5]
    assert {status for kind, status, _ in done if kind == "create"} == {201}
    assert {status for kind, status, _ in done if kind == "list"} == {200}
    slowest = max(elapsed for _, _, elapsed in done)
    assert slowest < SLOW, f"slowest request took {slowest:.2f} s"
    assert all(rs for rs in results), "a client never got a request through"
    created = sum(1 for kind, _, _ in done if kind == "create")
    assert created >= CLIENTS
    # Every 201 is a committed row, and each carries its event.
    assert count(db, TimeEntry) == created
    assert count(db, OutboxEvent, OutboxEvent.type == "time_entry.created") == created


@pytest.mark.parametrize("replace_running", [False, True])
def test_simultaneous_timer_starts_leave_one_running(
    server: str,
    tenant: Any,
    work: Work,
    db: Database,
    api: TestClient,
    replace_running: bool,
) -> None:
    """Without replace_running exactly one start wins and the rest get 409 timer_running.
    With it, starts may win or lose the race (409) but never fail otherwise, and the user
    ends with one running timer, every other winner stopped."""
    # Past starts allowed, so a start that lands on the other side of midnight still works.
    set_company(api, allow_past_timer_starts=True)
    starts = 20
    headers = {"Authorization": f"Bearer {tenant.token}"}
    today = datetime.now(UTC).date()
    if datetime.now(UTC) + timedelta(seconds=30) >= datetime.combine(
        today + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    ):
        today += timedelta(days=1)  # do not race midnight: the start is "now" either way
    body = work.entry(
        spent_date=today.isoformat(), is_running=True, replace_running=replace_running
    )
    answers: list[tuple[int, dict[str, Any]]] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(starts)

    def start_timer() -> None:
        with httpx.Client(base_url=server, headers=headers, timeout=SLOW * 3) as http:
            http.get("/healthz")  # connect before the barrier, so the POSTs really collide
            barrier.wait(timeout=30)
            try:
                response = http.post(f"{V2}/time_entries", json=body)
            except httpx.HTTPError as exc:
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
                return
            with lock:
                answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=start_timer) for _ in range(starts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(answers) == starts
    assert {code for code, _ in answers} <= {201, 409}, answers
    assert {body["error"] for code, body in answers if code == 409} <= {"timer_running"}
    winners = [body["id"] for code, body in answers if code == 201]
    if not replace_running:
        assert len(winners) == 1, answers
    assert winners
    with db.transaction(write=False) as session:
        running = [
            str(i)
            for i in session.scalars(select(TimeEntry.id).where(TimeEntry.is_running.is_(True)))
        ]
    assert len(running) == 1 and running[0] in winners
    assert count(db, TimeEntry) == len(winners)
    assert count(db, OutboxEvent, OutboxEvent.type == "time_entry.started") == len(winners)
    assert count(db, OutboxEvent, OutboxEvent.type == "time_entry.stopped") == len(winners) - 1
