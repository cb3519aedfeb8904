"""Rate limits per API key within the account's plan: headers on every response of a limited
key, 429 with Retry-After past the quota, exactly N of N+M concurrent requests served, one
account's exhaustion never felt by another, bad tokens spend nothing; counters in Redis are
shared by every process of `timeledger serve --workers 2`."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from timeledger.server.accounts.bootstrap import init_account
from timeledger.server.accounts.models import Account
from timeledger.server.accounts.schemas import AccountCreate
from timeledger.server.app import create_app
from timeledger.server.catalog.models import Client
from timeledger.server.core.clock import set_clock, utcnow
from timeledger.server.db import Database

ME = "/api/v2/users/me"
REDIS_URL = "redis://127.0.0.1:6379/0"
BIN = Path(sys.executable).parent


def limit_account(db: Database, account_id: str, per_hour: int | None) -> None:
    """An operator's per-account override of the plan's hourly limit."""
    with db.transaction(write=True) as session:
        session.execute(
            update(Account)
            .where(Account.id == uuid.UUID(account_id))
            .values(rate_limit_per_hour=per_hour)
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def burst(app: Any, token: str, count: int) -> list[httpx.Response]:
    """`count` requests at once over the real ASGI stack."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=bearer(token)
    ) as client:
        return list(await asyncio.gather(*(client.get(ME) for _ in range(count))))


def test_every_response_of_a_key_carries_the_headers(db, make_limited):
    tenant = make_limited(5)
    first = tenant.client.get(ME)
    assert first.status_code == 200
    assert first.headers["RateLimit-Policy"] == '"hourly";q=5;w=3600'
    remaining, reset_in = parse_ratelimit(first.headers["RateLimit"])
    assert remaining == 4 and 0 < reset_in <= 3600
    assert first.headers["X-RateLimit-Limit"] == "5"
    assert first.headers["X-RateLimit-Remaining"] == "4"
    reset_at = int(first.headers["X-RateLimit-Reset"])
    assert reset_at % 3600 == 0 and 0 < reset_at - time.time() <= 3600
    # An error of the surface counts, and says so too.
    missing = tenant.client.get("/api/v2/clients/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["X-RateLimit-Remaining"] == "3"
    assert parse_ratelimit(missing.headers["RateLimit"])[0] == 3


def test_past_the_quota_a_429_in_the_surface_format_with_retry_after(db, make_limited):
    tenant = make_limited(2)
    assert [tenant.client.get(ME).status_code for _ in range(2)] == [200, 200]
    limited = tenant.client.post("/api/v2/clients", json={"name": "Not made"})
    assert limited.status_code == 429
    body = limited.json()
    assert body["error"] == "rate_limited" and "2 requests per hour" in body["error_description"]
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert parse_ratelimit(limited.headers["RateLimit"])[0] == 0
    with db.transaction(write=False) as session:  # refused before it ran
        assert session.scalar(select(func.count()).select_from(Client)) == 0


def test_with_a_quota_of_n_exactly_n_concurrent_requests_succeed(db, app, make_limited):
    tenant = make_limited(20)
    responses = asyncio.run(burst(app, tenant.token, 45))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 20 + [429] * 25
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in responses)
    assert remaining[-20:] == list(range(20))  # every successful request counted once


def test_one_accounts_exhaustion_never_affects_another(db, make_limited):
    exhausted, other = make_limited(1, "Acme"), make_limited(3, "Globex")
    assert exhausted.client.get(ME).status_code == 200
    assert exhausted.client.get(ME).status_code == 429
    answers = [other.client.get(ME) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]


def test_missing_or_wrong_keys_spend_no_ones_quota(db, make_limited):
    tenant = make_limited(3)
    key_id = tenant.token.split("_")[1]
    forged = f"tlk_{key_id}_{secrets.token_urlsafe(32)}"
    for headers in (
        {"Authorization": ""},
        bearer(forged),
        bearer("tlk_nope"),
        {"Authorization": "", "X-API-Key": forged},
    ):
        denied = tenant.client.get(ME, headers=headers)
        assert denied.status_code == 401, denied.text
        assert "X-RateLimit-Limit" not in denied.headers
    assert tenant.client.get(ME).headers["X-RateLimit-Remaining"] == "2"


def test_keys_of_one_account_are_counted_apart(db, make_limited):
    tenant = make_limited(2)
    second = tenant.client.post("/api/v2/api_keys", json={"name": "second", "scope": "read"})
    assert second.status_code == 201, second.text
    assert [tenant.client.get(ME).status_code for _ in range(2)] == [200, 429]
    other_key = tenant.client.get(ME, headers=bearer(second.json()["token"]))
    assert other_key.status_code == 200
    assert other_key.headers["X-RateLimit-Remaining"] == "1"


def test_one_quota_across_every_surface_each_refusing_in_its_format(db, make_limited):
    tenant = make_limited(3)
    served = [
        tenant.client.get(ME),
        tenant.client.get("/api/time-entries"),  # ClockEye
        tenant.client.get("/api/v1/me/"),  # Temporal.ist
    ]
    assert [r.status_code for r in served] == [200, 200, 200], [r.text for r in served]
    assert [r.headers["X-RateLimit-Remaining"] for r in served] == ["2", "1", "0"]
    clockeye = tenant.client.get("/api/time-entries")
    assert clockeye.status_code == 429 and "Retry-After" in clockeye.headers
    assert set(clockeye.json()) == {"error", "code", "details"}
    temporalist = tenant.client.get("/api/v1/me/")
    assert temporalist.status_code == 429 and "Retry-After" in temporalist.headers
    assert set(temporalist.json()) == {"detail"}


@pytest.mark.parametrize(
    ("plan", "limit"), [("free", "100"), ("standard", "1000"), ("pro", "5000")]
)
def test_plans_set_the_hourly_limit(db, app, plan, limit):
    with client_of(app, new_key(db, "Planned", plan=plan)) as client:
        response = client.get(ME)
    assert response.headers["X-RateLimit-Limit"] == limit
    assert response.headers["RateLimit-Policy"] == f'"hourly";q={limit};w=3600'


def test_enterprise_is_unlimited(db, app):
    with client_of(app, new_key(db, "Big", plan="enterprise")) as client:
        answers = [client.get(ME) for _ in range(3)]
    assert all(a.status_code == 200 for a in answers)
    assert all("RateLimit" not in a.headers for a in answers)


def test_the_quota_comes_back_when_the_hour_turns(db, make_limited):
    tenant = make_limited(1)
    assert tenant.client.get(ME).status_code == 200
    limited = tenant.client.get(ME)
    assert limited.status_code == 429
    later = utcnow() + timedelta(seconds=int(limited.headers["Retry-After"]))
    set_clock(lambda: later)
    try:
        again = tenant.client.get(ME)
    finally:
        set_clock(None)
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Remaining"] == "0"


# --- Redis: one limit for every process ------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"tl-test-{secrets.token_hex(4)}:"
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_redis_counters_allow_exactly_n_in_process(db, redis_prefix, make_limited):
    settings = replace_settings(db, redis_url=REDIS_URL, redis_prefix=redis_prefix)
    app = create_app(settings, database=db)
    tenant = make_limited(15, app=app)
    responses = asyncio.run(burst(app, tenant.token, 30))
    assert sorted(r.status_code for r in responses) == [200] * 15 + [429] * 15
    stored = redis.Redis.from_url(REDIS_URL).keys(f"{redis_prefix}ratelimit:*")
    assert len(stored) == 1


def test_two_server_processes_share_one_limit(db, redis_prefix, make_limited, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "TIMELEDGER_DATABASE_URL": db.url,
        "TIMELEDGER_DATA_DIR": str(tmp_path),
        "TIMELEDGER_REDIS_URL": REDIS_URL,
        "TIMELEDGER_REDIS_PREFIX": redis_prefix,
        "TIMELEDGER_LOG_LEVEL": "info",  # each worker logs its startup
        "TIMELEDGER_BACKGROUND_INTERVAL": "0",
        "TIMELEDGER_WEBHOOKS_IN_PROCESS": "0",
    }
    tenant = make_limited(40)
    server = subprocess.Popen(
        [str(BIN / "timeledger"), "serve", "--no-migrate", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "server.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, url, tmp_path / "server.log")

        # Fresh connections: the kernel spreads them over both workers' accept queues.
        # A connection per request: the workers take turns accepting them.
        def one(_: int) -> int:
            with httpx.Client(base_url=url, headers=bearer(tenant.token)) as client:
                return client.get(ME).status_code

        # The server's startup may have taken us close to the turn of the hour.
        clear_of_the_hour_turn()
        with ThreadPoolExecutor(16) as pool:
            statuses = sorted(pool.map(one, range(100)))
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert statuses == [200] * 40 + [429] * 60
    assert int(redis.Redis.from_url(REDIS_URL).get(only_key(redis_prefix)) or 0) == 100


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clear_of_the_hour_turn() -> None:
    clear_of_the_hour_turn()


def clear_of_the_hour_turn(margin: float = 20.0) -> None:
    """Quotas are counted per clock hour, so a burst that straddles the turn of the hour gets a
    second quota. Wait for the turn when it is less than `margin` seconds away."""
    to_the_turn = 3600 - time.time() % 3600
    if to_the_turn < margin:
        time.sleep(to_the_turn + 0.5)


def parse_ratelimit(value: str) -> tuple[int, int]:
    match = re.fullmatch(r'"hourly";r=(\d+);t=(\d+)', value)
    assert match, value
    return int(match.group(1)), int(match.group(2))


def replace_settings(db: Database, **changes: Any) -> Any:
    return dataclasses.replace(db.settings, **changes)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    # Generous: two workers each import the whole server, on a machine that may be busy.
    deadline = time.monotonic() + 120
    while True:
        try:
            ready = httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            ready = False
        if ready and log.read_text().count("Application startup complete") == 2:
            return  # both workers serve
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"timeledger serve did not start: {log.read_text()}")
        time.sleep(0.1)


def only_key(prefix: str) -> bytes:
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{prefix}ratelimit:*")
    assert len(keys) == 1, keys
    return bytes(keys[0])


@dataclass
class Limited:
    account_id: str
    token: str
    client: TestClient


def new_key(db: Database, name: str, **account: Any) -> tuple[str, str]:
    """A new account's (id, owner's write key)."""
    with db.transaction(write=True) as session:
        new = init_account(
            session, AccountCreate(name=name, **account), f"owner@{name.lower()}.example"
        )
    return str(new.account.id), new.token


def client_of(app: Any, key: tuple[str, str]) -> TestClient:
    return TestClient(
        app, base_url="http://testserver", raise_server_exceptions=False, headers=bearer(key[1])
    )


@pytest.fixture
def make_limited(db: Database, app: FastAPI) -> Iterator[Any]:
    """make_limited(per_hour, name="Acme", app=None): a new account whose keys may make
    `per_hour` requests an hour, with a client of the app sending its owner's key."""
    made: list[TestClient] = []

    def make(per_hour: int, name: str = "Acme", app: FastAPI = app) -> Limited:
        account_id, token = key = new_key(db, name)
        limit_account(db, account_id, per_hour)
        client = client_of(app, key).__enter__()
        made.append(client)
        return Limited(account_id, token, client)

    yield make
    for client in made:
        client.__exit__(None, None, None)
