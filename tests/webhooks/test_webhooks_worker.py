"""Dispatcher processes: `timeledger worker` run as an operator runs it (killed with -9,
run two at a time), and the dispatcher `serve` runs in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from timeledger.server.accounts import keys
from timeledger.server.app import create_app
from timeledger.server.catalog import service as catalog
from timeledger.server.catalog.schemas import ClientCreate
from timeledger.server.models import WebhookAttempt, WebhookDelivery

from .hookkit import V2, Reply, deliveries, ok, relaxed, subscribe


@contextmanager
def worker(db, *, lease: float = 2.0, concurrency: int = 8) -> Iterator[subprocess.Popen[str]]:
    """`timeledger worker`, started and ready; stopped (SIGTERM) when the block ends unless
    the test already ended it."""
    env = {
        **os.environ,
        "TIMELEDGER_DATABASE_URL": db.url,
        "TIMELEDGER_WEBHOOKS_ALLOW_HTTP": "1",
        "TIMELEDGER_WEBHOOKS_ALLOW_PRIVATE": "1",
        "TIMELEDGER_WEBHOOKS_POLL_INTERVAL": "0.05",
        "TIMELEDGER_WEBHOOKS_LEASE": str(lease),
        "TIMELEDGER_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "timeledger.cli.main", "worker", "--json"]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [*command, "--concurrency", str(concurrency)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            started = process.stdout.readline() if process.stdout else ""
            log.seek(0)
            assert started, f"the worker did not start:\n{log.read()}"
            assert json.loads(started) == {"event": "worker started", "pid": process.pid}
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                finally:
                    process.kill()  # never leave a worker behind, even if stopping failed
                    process.wait()


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of the sockets a process holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            ports.add(int(fields[1].split(":")[1], 16))
    return ports


def create_clients(db, token: str, count: int) -> None:
    with db.transaction(write=True) as session:
        actor = keys.authenticate(session, token).actor
        for n in range(count):
            catalog.create_client(session, actor, ClientCreate(name=f"Client {n}"))


def test_kill_9_mid_delivery_loses_nothing(db, api, receiver):
    """The worker dies while the receiver holds its request; the next worker delivers the
    same delivery (same id, same body) once the dead one's lease has run out."""
    hold = threading.Event()
    receiver.reply(Reply(hold=hold))
    hook = subscribe(api, receiver.url(), ["client.created"])
    ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)

    with worker(db) as doomed:
        try:
            [held] = receiver.wait_for(1, timeout=20)
            doomed.kill()  # SIGKILL: no chance to record anything
            assert doomed.wait(timeout=10) == -9
        finally:
            hold.set()
    [pending] = deliveries(api, hook["id"])
    assert (pending["status"], pending["attempts"]) == ("pending", [])

    with worker(db) as successor:
        again = receiver.wait_for(2, timeout=20)[1]
        assert again.webhook_id == held.webhook_id == pending["id"]
        assert again.body == held.body
        for _ in range(100):
            [done] = deliveries(api, hook["id"])
            if done["status"] != "pending":
                break
            time.sleep(0.05)
        successor.terminate()
        assert successor.wait(timeout=15) == 0  # a clean stop after SIGTERM

    assert (done["status"], done["attempt_count"]) == ("succeeded", 1)
    assert [a["status_code"] for a in done["attempts"]] == [200]
    assert len(receiver.received) == 2


def test_two_workers_never_make_the_same_delivery_twice(db, api, tenant, receiver):
    if db.is_sqlite:
        pytest.skip("concurrent workers claim with FOR UPDATE SKIP LOCKED: a PostgreSQL test")
    receiver.default = Reply(delay=0.005)
    subscribe(api, receiver.url("/a"), ["client.created"])
    subscribe(api, receiver.url("/b"), ["client.created"])

    with worker(db, lease=30) as first, worker(db, lease=30) as second:
        create_clients(db, tenant.token, 200)
        received = receiver.wait_for(400, timeout=60)
        by_worker = [local_ports(first.pid), local_ports(second.pid)]
        time.sleep(0.5)  # a second sending of anything would arrive now
    received = receiver.received

    assert len(received) == 400
    assert len({r.webhook_id for r in received}) == 400
    assert all(by_worker) and not by_worker[0] & by_worker[1]
    senders = [[r for r in received if r.client_port in ports] for ports in by_worker]
    assert all(senders), "both workers delivered"
    assert sum(map(len, senders)) == 400
    with db.transaction(write=False) as session:
        statuses = session.execute(
            select(WebhookDelivery.status, WebhookDelivery.attempt_count, func.count()).group_by(
                WebhookDelivery.status, WebhookDelivery.attempt_count
            )
        ).all()
        attempts = session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert statuses == [("succeeded", 1, 400)]
    assert attempts == 400


def test_serve_runs_a_dispatcher_in_process(db, tenant, receiver):
    settings = replace(relaxed(db.settings), webhooks_in_process=True, webhooks_poll_interval=0.05)
    app = create_app(settings, database=db)
    headers = {"Authorization": f"Bearer {tenant.token}"}
    with TestClient(app, headers=headers) as api:
        assert any(t.name == "webhook-dispatcher" for t in threading.enumerate())
        subscribe(api, receiver.url(), ["client.created"])
        ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)
        [received] = receiver.wait_for(1)
        assert received.json()["data"]["name"] == "Acme"
    assert not any(t.name == "webhook-dispatcher" for t in threading.enumerate())
