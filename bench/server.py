"""The server under test in its own process (uvicorn, one worker, on a free 127.0.0.1 port),
and the throwaway databases it runs on."""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent  # the directory holding the bench package
PG_ADMIN_URL = os.environ.get(
    "TIMELEDGER_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="timeledger-bench-") as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextmanager
def postgresql_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """CREATE DATABASE bench_<random> on the server behind admin_url; dropped afterwards."""
    name = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def database(engine: str) -> AbstractContextManager[str]:
    """A fresh, empty database of this engine for the length of the block."""
    return sqlite_database() if engine == "sqlite" else postgresql_database()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """`uvicorn <factory> --factory` against database_url: the app under test
    (bench.app:create_bench_app) unless told another."""

    def __init__(
        self,
        database_url: str,
        *,
        access_log: bool = False,
        factory: str = "bench.app:create_bench_app",
    ) -> None:
        self.database_url = database_url
        self.factory = factory
        self.access_log = access_log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    def start(self, timeout: float = 30.0) -> None:
        env = {
            **os.environ,
            "TIMELEDGER_DATABASE_URL": self.database_url,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        cmd = [
            sys.executable, "-m", "uvicorn", self.factory, "--factory",
            "--host", HOST, "--port", str(self.port), "--workers", "1",
            "--log-level", "warning", "--access-log" if self.access_log else "--no-access-log",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        give_up = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > give_up:
                self.stop()
                raise RuntimeError(f"the server did not start:\n{self.output()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_kib(self) -> int:
        """VmRSS of the server process, in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU the server process (all its threads) has used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
        self.log.close()
