"""A real server on 127.0.0.1 that a test can start, kill with SIGKILL and start again, fast.

Importing and building the server takes seconds on a busy machine, too slow to pay on every
restart of a crash test. So a launcher process imports it and builds the app (create_app with
the given settings) once, and forks a fresh server process (uvicorn over that app) each time it
is asked; the test kills that process, never the launcher. Traffic goes only to the loopback
port the server listens on."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

# Reads JSON commands, one a line: {"start": {settings}, "port": P} forks a server and answers
# its pid; {"kill": pid} kills it with SIGKILL, reaps it and answers "killed". Closing stdin
# kills every server left (a hung one must not hang the test) and ends the launcher.
LAUNCHER = """
import dataclasses, json, os, signal, sys
import uvicorn
from timeledger.server.app import create_app
from timeledger.server.config import Settings

servers, apps = set(), {}
for line in sys.stdin:
    command = json.loads(line)
    if "kill" in command:
        os.kill(command["kill"], signal.SIGKILL)
        os.waitpid(command["kill"], 0)
        servers.discard(command["kill"])
        print("killed", flush=True)
        continue
    # Built here, once per settings: each forked server gets a pristine copy (the launcher
    # never runs it, so its engine has never connected).
    key = json.dumps(command["start"], sort_keys=True)
    if key not in apps:
        apps[key] = create_app(dataclasses.replace(Settings.from_env(), **command["start"]))
    pid = os.fork()
    if pid == 0:
        uvicorn.run(apps[key], host="127.0.0.1", port=command["port"], log_level="warning",
                    access_log=False)
        os._exit(0)
    servers.add(pid)
    print(pid, flush=True)
for pid in servers:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Launcher:
    def __init__(self, process: subprocess.Popen[str], log: Path) -> None:
        self.process = process
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.pid: int | None = None

    def _ask(self, command: dict[str, Any]) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        with contextlib.suppress(BrokenPipeError):  # a dead launcher answers nothing, below
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer, f"the launcher died: {self.log.read_text()}"
        return answer

    def start(self, **settings: Any) -> None:
        """Fork a server with these Settings overrides and wait until it answers."""
        assert self.pid is None
        self.pid = int(self._ask({"start": settings, "port": self.port}))
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not start: {self.log.read_text()}"
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback, no flush; whatever was in flight is cut off."""
        assert self.pid is not None
        assert self._ask({"kill": self.pid}) == "killed"
        self.pid = None


@contextmanager
def launcher(database_url: str, log: Path, **env: str) -> Iterator[Launcher]:
    environ = {
        **os.environ,
        "TIMELEDGER_DATABASE_URL": database_url,
        "TIMELEDGER_LOG_LEVEL": "warning",
        "TIMELEDGER_BACKGROUND_INTERVAL": "0",
        "TIMELEDGER_WEBHOOKS_IN_PROCESS": "0",
        # Keeps a PostgreSQL server's pool (this + 16) well inside max_connections.
        "TIMELEDGER_MAX_CONCURRENCY": "32",
        **env,
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
            env=environ,
        )
    try:
        yield Launcher(process, log)
    finally:
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
