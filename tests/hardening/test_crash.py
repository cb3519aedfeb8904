"""Crash test: 50 clients write through the API of a real server process on 127.0.0.1 (finished
entries for four users, timers started and stopped for each of them) while the server is
killed with SIGKILL at a random moment; then it is started again. Ten rounds per engine.

After every kill: each write that was answered 2xx is in the database (created entries by id,
with their audit records; stopped timers stopped), SQLite's `PRAGMA integrity_check` says ok,
and every running timer can be read and stopped through the API. See the README's Durability
section."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from serverkit import Launcher, launcher
from sqlalchemy import select
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from timeledger.server.audit.models import AuditRecord
from timeledger.server.db import Database
from timeledger.server.models import TimeEntry

V2 = "/api/v2"
ROUNDS = 10
CLIENTS = 50
TIMER_CLIENTS = 4  # one per user: start a timer, stop it, again
# The kill comes once this many writes (a random number in the range) were acknowledged (and,
# every other round, a timer stop among them), or after the longest wait: a moment chosen by
# progress, so a slow machine still kills writers mid-flight.
KILL_AFTER = (5, 40)
LONGEST_WAIT = 10.0


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class Acknowledged:
    """What the server answered 2xx to in one round."""

    created: set[str] = field(default_factory=set)
    stopped: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)  # answers no client should get
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.created) + len(self.stopped)

    def add(self, kind: set[str], entry_id: str) -> None:
        with self.lock:
            kind.add(entry_id)

    def wrong(self, response: httpx.Response) -> None:
        with self.lock:
            self.unexpected.append(
                f"{response.request.method} {response.status_code} {response.text}"
            )


@pytest.fixture
def server(db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    with launcher(db.url, tmp_path_factory.mktemp("crash") / "server.log") as live:
        yield live
        if live.pid is not None:
            live.kill()


@pytest.fixture
def tokens(api: TestClient, tenant: Any) -> list[str]:
    """The owner's key and keys of three more users."""
    found = [tenant.token]
    for n in range(3):
        user = ok(api.post(f"{V2}/users", json={"email": f"u{n}@acme.example"}), 201)
        body = {"name": f"u{n}", "scope": "write", "user_id": user["id"]}
        found.append(ok(api.post(f"{V2}/api_keys", json=body), 201)["token"])
    return found


@pytest.fixture
def work(api: TestClient) -> dict[str, str]:
    project = ok(api.post(f"{V2}/projects", json={"name": "Site", "is_billable": True}), 201)
    task = ok(api.post(f"{V2}/tasks", json={"name": "Design"}), 201)
    path = f"{V2}/projects/{project['id']}/task_assignments"
    ok(api.post(path, json={"task_id": task["id"]}), 201)
    ok(api.patch(f"{V2}/company", json={"allow_past_timer_starts": True}))
    return {"project_id": project["id"], "task_id": task["id"]}


def _client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _traffic(
    clients: list[httpx.Client], work: dict[str, str], acked: Acknowledged, done: threading.Event
) -> list[threading.Thread]:
    """Start the clients (the first TIMER_CLIENTS run timers); each writes until the server
    stops answering (or `done`). Returns once every client is connected and writing."""
    day = datetime.now(UTC).date().isoformat()
    connected = threading.Barrier(len(clients) + 1)

    def entries(http: httpx.Client, n: int) -> None:
        i = 0
        while not done.is_set():
            body = {**work, "spent_date": day, "hours": 0.5, "notes": f"c{n} {i}"}
            try:
                response = http.post(f"{V2}/time_entries", json=body)
            except httpx.HTTPError:
                return  # the server is gone; what it answered before counts
            if response.status_code != 201:
                return acked.wrong(response)
            acked.add(acked.created, response.json()["id"])
            i += 1

    def timers(http: httpx.Client, n: int) -> None:
        while not done.is_set():
            body = {**work, "spent_date": day, "is_running": True, "replace_running": True}
            try:
                started = http.post(f"{V2}/time_entries", json=body)
                if started.status_code != 201:
                    return acked.wrong(started)
                entry_id = started.json()["id"]
                acked.add(acked.created, entry_id)
                stopped = http.patch(f"{V2}/time_entries/{entry_id}/stop", json={})
            except httpx.HTTPError:
                return
            if stopped.status_code != 200:
                return acked.wrong(stopped)
            acked.add(acked.stopped, entry_id)

    def client(n: int) -> None:
        http = clients[n]
        http.get("/healthz")  # a fresh connection to this server
        connected.wait(timeout=30)
        (timers if n < TIMER_CLIENTS else entries)(http, n)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    connected.wait(timeout=30)
    return threads


def _check_committed(db: Database, acked: Acknowledged) -> None:
    ids = [uuid.UUID(i) for i in acked.created]
    with db.transaction(write=False) as session:
        rows = dict(
            session.execute(
                select(TimeEntry.id, TimeEntry.is_running).where(TimeEntry.id.in_(ids))
            ).all()
        )
        audited = set(
            session.scalars(
                select(AuditRecord.object_id).where(
                    AuditRecord.object_id.in_(ids), AuditRecord.action == "created"
                )
            )
        )
    missing = {str(i) for i in ids} - {str(i) for i in rows}
    assert not missing, f"{len(missing)} acknowledged entries lost, e.g. {sorted(missing)[:3]}"
    restarted = [i for i in acked.stopped if rows[uuid.UUID(i)]]
    assert not restarted, f"acknowledged stops lost: {restarted[:3]}"
    # The audit record commits with its change, or neither does.
    assert audited == set(rows)


def _check_sqlite_integrity(db: Database) -> None:
    if not db.is_sqlite:
        return
    path = make_url(db.url).database
    assert path
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _stop_every_running_timer(http: httpx.Client) -> int:
    """Every running timer reads and stops through the API (the owner sees everyone's)."""
    listing = ok(http.get(f"{V2}/time_entries", params={"is_running": "true", "per_page": 100}))
    running = listing["time_entries"]
    assert len({entry["user"]["id"] for entry in running}) == len(running)  # one per user
    for entry in running:
        assert ok(http.get(f"{V2}/time_entries/{entry['id']}"))["is_running"] is True
        stopped = ok(http.patch(f"{V2}/time_entries/{entry['id']}/stop", json={}))
        assert stopped["is_running"] is False
    left = ok(http.get(f"{V2}/time_entries", params={"is_running": "true"}))
    assert left["time_entries"] == []
    return len(running)


def test_killed_mid_write_loses_nothing_acknowledged(
    server: Launcher, db: Database, tokens: list[str], work: dict[str, str]
) -> None:
    chance = random.Random()
    totals = {"created": 0, "stopped": 0, "timers_found_running": 0}
    began = time.monotonic()
    # Made once: a client costs more to make than a request, and the kill must land while
    # all 50 are writing.
    clients = [_client(server.base, tokens[n % len(tokens)]) for n in range(CLIENTS)]
    owner = _client(server.base, tokens[0])
    server.start()
    for number in range(ROUNDS):
        acked, done = Acknowledged(), threading.Event()
        threads = _traffic(clients, work, acked, done)
        target, deadline = chance.randint(*KILL_AFTER), time.monotonic() + LONGEST_WAIT
        need_stop = number % 2 == 1
        while time.monotonic() < deadline and (
            acked.count() < target or (need_stop and not acked.stopped)
        ):
            time.sleep(0.005)
        time.sleep(chance.uniform(0, 0.02))  # between acknowledgements, not right on one
        server.kill()
        done.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
        assert acked.unexpected == [], acked.unexpected[:3]

        _check_sqlite_integrity(db)
        server.start()  # the next round writes to it
        _check_committed(db, acked)
        totals["timers_found_running"] += _stop_every_running_timer(owner)
        assert acked.created, "the server was killed before it acknowledged any write"
        totals["created"] += len(acked.created)
        totals["stopped"] += len(acked.stopped)
    for http in [*clients, owner]:
        http.close()
    # Timers were stopped too (every round wrote entries, checked above).
    assert totals["stopped"] > 0, totals
    print(f"{ROUNDS} kills in {time.monotonic() - began:.1f} s: {totals}")
