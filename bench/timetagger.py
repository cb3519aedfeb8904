"""TimeTagger 26.1.3 as the point of comparison: installed from PyPI into a venv under /tmp
(kept between runs, never in the repo), run as its own `python -m timetagger` (asgineer on
one uvicorn worker) on a free 127.0.0.1 port with a throwaway data directory.

Authentication is its own localhost login: POST /timetagger/api/v2/bootstrap_authentication
with {"method": "localhost"} answers a webtoken for "defaultuser" when the server is bound
to 127.0.0.1, the one legitimate way in without configured credentials. Records are loaded
through its API, PUT /api/v2/records with lists of records (as its client syncs them).
"""

from __future__ import annotations

import base64
import bisect
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.server import HOST, Server

VERSION = "26.1.3"
VENV = Path(tempfile.gettempdir()) / "timeledger-bench-timetagger"
PREFIX = "/timetagger/api/v2"
BATCH = 20_000  # records per PUT (its limit is 10 MiB a request)


def ensure_venv(log: object = sys.stderr) -> Path:
    """The venv's python, installing TimeTagger first unless the cached venv has it."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import timetagger; print(timetagger.__version__)"]
    if python.exists():
        done = subprocess.run(check, capture_output=True, text=True, check=False)
        if done.stdout.strip() == VERSION:
            return python
    print(f"installing timetagger=={VERSION} into {VENV} ...", file=log, flush=True)
    subprocess.run(["python3", "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", f"timetagger=={VERSION}"]
    subprocess.run(pip, check=True, timeout=600)
    return python


class TimeTagger(Server):
    """bench.server.Server's process handling (RSS, CPU, stop) around TimeTagger."""

    def __init__(self, python: Path) -> None:
        super().__init__("")
        self.python = python
        self.datadir = tempfile.TemporaryDirectory(prefix="timeledger-bench-tt-")
        self.token = ""

    def start(self, timeout: float = 60.0) -> None:
        env = {
            **os.environ,
            "TIMETAGGER_BIND": f"{HOST}:{self.port}",
            "TIMETAGGER_DATADIR": self.datadir.name,
            "TIMETAGGER_LOG_LEVEL": "warning",
        }
        cmd = [str(self.python), "-m", "timetagger"]
        self.proc = subprocess.Popen(
            cmd, cwd=self.datadir.name, env=env, stdout=self.log, stderr=self.log
        )
        give_up = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > give_up:
                self.stop()
                raise RuntimeError(f"TimeTagger did not start:\n{self.output()}")
            time.sleep(0.2)
        login = base64.b64encode(json.dumps({"method": "localhost"}).encode())
        status, body = self.call("POST", "bootstrap_authentication", login, auth=False)
        if status != 200:
            raise RuntimeError(f"TimeTagger localhost login: {status} {body[:200]!r}")
        self.token = json.loads(body)["token"]

    def _ready(self) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", "/timetagger/status")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def call(
        self, method: str, path: str, body: bytes = b"", auth: bool = True
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=600)
        try:
            headers = {"authtoken": self.token} if auth else {}
            conn.request(method, f"{PREFIX}/{path}", body=body or None, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def load_records(self, count: int, days: int = 730, seed: int = 5) -> list[tuple[int, int]]:
        """PUT `count` records spread over the last `days` days; returns their (t1, t2)."""
        rng = random.Random(seed)
        now = int(time.time())
        spans = []
        for start in range(0, count, BATCH):
            records = []
            for n in range(start, min(count, start + BATCH)):
                t1 = now - rng.randint(86_400, days * 86_400)
                t2 = t1 + rng.randint(60, 4 * 3_600)
                spans.append((t1, t2))
                ds = f"Reviewed the login flow (TKT-{n % 99_991}) #project{rng.randint(1, 40)}"
                records.append({"key": f"r{n:08x}", "mt": now, "t1": t1, "t2": t2, "ds": ds})
            status, body = self.call("PUT", "records", json.dumps(records).encode())
            accepted = len(json.loads(body)["accepted"]) if status == 200 else 0
            if accepted != len(records):
                raise RuntimeError(f"TimeTagger refused records: {status} {body[:300]!r}")
        return spans

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)  # type: ignore[arg-type]
        self.datadir.cleanup()


def window(spans: list[tuple[int, int]], size: int = 50) -> tuple[int, int]:
    """A timerange [a, b] in the middle of the data that its GET /records answers with about
    `size` records (those with t2 >= a and t1 <= b)."""
    spans = sorted(spans)
    starts = [t1 for t1, _ in spans]
    longest = max(t2 - t1 for t1, t2 in spans)
    a = starts[len(starts) // 2]

    def hits(b: int) -> int:
        low = bisect.bisect_left(starts, a - longest)
        high = bisect.bisect_right(starts, b)
        return sum(1 for t1, t2 in spans[low:high] if t2 >= a)

    lo, hi = a, a + 30 * 86_400
    while lo < hi:  # the smallest b with at least `size` hits
        mid = (lo + hi) // 2
        if hits(mid) >= size:
            hi = mid
        else:
            lo = mid + 1
    return a, lo
