"""Concurrency against a real server process on 127.0.0.1, on both engines.

- 50 simultaneous timer starts for one user, half of them asking to replace the running timer:
  no 5xx, and exactly one timer runs afterwards. (tests/tracking/test_tracking_concurrency.py
  races 20 starts of one kind at a time; this is the issue's 50, both kinds at once.)
- The SQLite deadlock fixed in 7883a27: with as many worker threads as admitted requests, the
  request holding the write lock could find no thread to finish on while every other admitted
  request, and a background job, sat on a thread waiting for that lock. More writers than
  max_concurrency plus a background job running all the time must all finish, in bounded time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from serverkit import Launcher, launcher
from sqlalchemy import func, select
from starlette.testclient import TestClient

from timeledger.server.db import Database
from timeledger.server.models import OutboxEvent, TimeEntry

V2 = "/api/v2"
TIMEOUT = 15.0


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    with launcher(database_url, tmp_path_factory.mktemp("server") / "server.log") as live:
        yield live


@pytest.fixture
def server(servers: Launcher, db: Database) -> Iterator[Launcher]:
    """The launcher; the server a test starts is killed when it ends."""
    yield servers
    if servers.pid is not None:
        servers.kill()


@pytest.fixture
def work(api: TestClient) -> dict[str, str]:
    project = ok(api.post(f"{V2}/projects", json={"name": "Site"}), 201)
    task = ok(api.post(f"{V2}/tasks", json={"name": "Design"}), 201)
    path = f"{V2}/projects/{project['id']}/task_assignments"
    ok(api.post(path, json={"task_id": task["id"]}), 201)
    return {"project_id": project["id"], "task_id": task["id"]}


def race(base: str, token: str, bodies: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """POST every body to /time_entries at the same moment, one client each; the answers."""
    answers: list[tuple[int, Any]] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(bodies))

    def post(body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT) as http:
            http.get("/healthz")  # connected before the barrier, so the POSTs collide
            barrier.wait(timeout=30)
            try:
                response = http.post(f"{V2}/time_entries", json=body)
            except httpx.HTTPError as exc:
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
                return
        with lock:
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 4)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    assert failures == []
    return answers


def test_50_simultaneous_timer_starts_leave_one_running(
    server: Launcher, api: TestClient, tenant: Any, work: dict[str, str], db: Database
) -> None:
    server.start()
    # A start that lands past midnight is still "now"; never refused as a past start.
    ok(api.patch(f"{V2}/company", json={"allow_past_timer_starts": True}))
    today = datetime.now(UTC).date()
    bodies = [
        {**work, "spent_date": today.isoformat(), "is_running": True, "replace_running": n % 2 == 0}
        for n in range(50)
    ]
    answers = race(server.base, tenant.token, bodies)

    assert len(answers) == 50
    assert {status for status, _ in answers} <= {201, 409}, answers
    assert {body["error"] for status, body in answers if status == 409} <= {"timer_running"}
    winners = [body["id"] for status, body in answers if status == 201]
    assert winners
    running = ok(api.get(f"{V2}/time_entries", params={"is_running": "true"}))["time_entries"]
    assert [entry["id"] for entry in running] == [running[0]["id"]]
    assert running[0]["id"] in winners
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(TimeEntry)) == len(winners)
        assert session.scalar(select(func.count()).where(TimeEntry.is_running)) == 1
        stopped = session.scalar(
            select(func.count()).where(OutboxEvent.type == "time_entry.stopped")
        )
    # Every winner but the last was replaced (stopped) by a later one.
    assert stopped == len(winners) - 1


def test_more_writers_than_threads_with_a_background_job_never_deadlock(
    server: Launcher, tenant: Any, work: dict[str, str]
) -> None:
    """Two admitted requests, the forgotten-timer sweeper taking the write lock every 5 ms,
    and 40 writers: before the fix this hung within a few requests (the test then fails on
    its timeouts instead of hanging)."""
    server.start(max_concurrency=2, background_interval=0.005)
    writers, each = 40, 5
    day = datetime.now(UTC).date().isoformat()
    statuses: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        headers = {"Authorization": f"Bearer {tenant.token}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=TIMEOUT) as http:
            for i in range(each):
                body = {**work, "spent_date": day, "hours": 0.25, "notes": f"w{n} {i}"}
                try:
                    status = http.post(f"{V2}/time_entries", json=body).status_code
                except httpx.HTTPError as exc:
                    with lock:
                        failures.append(f"writer {n}: {type(exc).__name__}")
                    return
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 4)
    assert not any(thread.is_alive() for thread in threads), "writers still blocked"
    assert failures == [], failures[:5]
    assert statuses == [201] * writers * each


def test_handlers_beyond_the_handler_threads_wait_and_async_routes_do_not(
    server: Launcher, tenant: Any, db: Database
) -> None:
    """TIMELEDGER_HANDLER_THREADS=2: with two synchronous handlers stuck (their table locked
    by another session), a third waits for one of them to finish, while an async route
    (/users/me) still answers at once; when the lock goes, every request succeeds."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: in WAL mode no SQLite writer blocks a reader")
    server.start(handler_threads=2)
    headers = {"Authorization": f"Bearer {tenant.token}"}
    http = httpx.Client(base_url=server.base, headers=headers, timeout=TIMEOUT)
    client_id = ok(http.post(f"{V2}/clients", json={"name": "Locked"}), 201)["id"]
    results: dict[str, int] = {}

    def get(path: str) -> None:
        with httpx.Client(base_url=server.base, headers=headers, timeout=TIMEOUT) as own:
            results[path] = own.get(f"{V2}/{path}").status_code

    def lock_waiters() -> int:
        with db.engine.connect() as conn:
            sql = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            return int(conn.exec_driver_sql(sql).scalar_one())

    blocker = db.engine.connect()
    blocker.exec_driver_sql("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE")
    threads = [threading.Thread(target=get, args=(f"clients/{client_id}",))]
    threads.append(threading.Thread(target=get, args=("clients",)))
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + TIMEOUT
        while lock_waiters() < 2:
            assert time.monotonic() < deadline, "the two handlers never reached the lock"
            time.sleep(0.02)
        third = threading.Thread(target=get, args=("tasks",))
        third.start()
        threads.append(third)
        third.join(timeout=1.0)
        assert third.is_alive(), "a third handler ran while both handler threads were taken"
        assert "tasks" not in results
        started = time.monotonic()
        assert http.get(f"{V2}/users/me").status_code == 200
        assert time.monotonic() - started < 1.0
        assert lock_waiters() == 2
    finally:
        blocker.rollback()
        blocker.close()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    http.close()
    assert results == {f"clients/{client_id}": 200, "clients": 200, "tasks": 200}
