"""The client side against a real server: one `timeledger serve` subprocess on 127.0.0.1 per
database engine for this whole package (on the run's test database), and a fault-injecting
proxy in front of it. Each test makes its own account and, through `db`, empties the tables
after itself."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from clientkit import BIN, Account, free_port, make_account
from faults import FaultProxy

from timeledger.server.db import Database


@dataclass(frozen=True)
class Live:
    url: str
    proxy: FaultProxy


@pytest.fixture(scope="package")
def live(shared_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The server, serving the run's database until the package's tests are done."""
    port = free_port()
    env = {
        **os.environ,
        "TIMELEDGER_DATABASE_URL": shared_database.url,
        "TIMELEDGER_DATA_DIR": str(tmp_path_factory.mktemp("server")),  # receipts go here
        "TIMELEDGER_LOG_LEVEL": "warning",
        "TIMELEDGER_BACKGROUND_INTERVAL": "0",
        "TIMELEDGER_WEBHOOKS_IN_PROCESS": "0",
        # Webhook subscriptions to 127.0.0.1 (never delivered: no dispatcher runs).
        "TIMELEDGER_WEBHOOKS_ALLOW_HTTP": "1",
        "TIMELEDGER_WEBHOOKS_ALLOW_PRIVATE": "1",
    }
    process = subprocess.Popen(
        [str(BIN / "timeledger"), "serve", "--no-migrate", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"timeledger serve did not start: {process.stderr.read()}")
            time.sleep(0.05)
        with FaultProxy(url).running() as proxy:
            yield Live(url, proxy)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def account(db: Database, live: Live) -> Iterator[Account]:
    live.proxy.reset()
    yield make_account(db, live.url)
    live.proxy.reset()


@pytest.fixture
def proxy(live: Live) -> FaultProxy:
    return live.proxy
