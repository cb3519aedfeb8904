"""Helpers for the webhook tests: a real HTTP receiver on 127.0.0.1, a settable clock, and
a small catalogue to track time against."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import trustme
import uvicorn
from starlette.testclient import TestClient

from timeledger.server.config import Settings

V2 = "/api/v2"
HOST = "127.0.0.1"


def relaxed(settings: Settings) -> Settings:
    """The development relaxations, so receivers on 127.0.0.1 over http are allowed."""
    return replace(settings, webhooks_allow_http=True, webhooks_allow_private=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.time() on arrival
    client_port: int  # the sender's end of the connection

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    hold: threading.Event | None = None  # answer only once this is set (or after 20 s)


class Receiver:
    """An HTTP server (uvicorn, on a thread of its own) that records every POST and answers
    from `replies` (in order), then with `default`. Bound when started, so a test can hold a
    port while "the receiver is down". TLS when given a trustme certificate."""

    def __init__(self, port: int | None = None, cert: trustme.LeafCert | None = None):
        self.port = port or free_port()
        self.cert = cert
        self.replies: list[Reply] = []
        self.default = Reply()
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/hook", host: str = HOST) -> str:
        scheme = "https" if self.cert else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def reply(self, *replies: Reply | int) -> None:
        self.replies.extend(r if isinstance(r, Reply) else Reply(status=r) for r in replies)

    def _record(self, item: Received) -> Reply:
        with self._arrived:
            self.received.append(item)
            self._arrived.notify_all()
            return self.replies.pop(0) if self.replies else self.default

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"expected {count} deliveries, got {len(self.received)}"
                self._arrived.wait(left)
            return list(self.received)

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        arrived = Received(scope["path"], headers, body, time.time(), scope["client"][1])
        reply = self._record(arrived)
        give_up = time.monotonic() + 20
        while reply.hold is not None and not reply.hold.is_set() and time.monotonic() < give_up:
            await asyncio.sleep(0.01)
        await asyncio.sleep(reply.delay)
        extra = [(name.encode(), value.encode()) for name, value in reply.headers.items()]
        length = (b"content-length", str(len(reply.body)).encode())
        await send(
            {"type": "http.response.start", "status": reply.status, "headers": [length, *extra]}
        )
        await send({"type": "http.response.body", "body": reply.body})

    def start(self) -> Receiver:
        with contextlib.ExitStack() as files:
            tls: dict[str, Any] = {}
            if self.cert is not None:
                pem = files.enter_context(self.cert.private_key_and_cert_chain_pem.tempfile())
                tls = {"ssl_keyfile": pem, "ssl_certfile": pem}
            config = uvicorn.Config(
                self._app,
                host=HOST,
                port=self.port,
                interface="asgi3",
                lifespan="off",
                log_config=None,
                log_level="error",
                access_log=False,
                backlog=1024,
                timeout_keep_alive=30,
                timeout_graceful_shutdown=0,
                **tls,
            )
            self._server = uvicorn.Server(config)
            self._thread = threading.Thread(target=self._server.run, daemon=True)
            self._thread.start()
            eventually(lambda: self._server is not None and self._server.started, 10, "receiver")
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None


class FakeClock:
    """A settable "now" to install with core.clock.set_clock."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def subscribe(api: TestClient, url: str, events: list[str] | str = "*", **body: Any) -> Any:
    return ok(api.post(f"{V2}/webhooks", json={"url": url, "events": events, **body}), 201)


def deliveries(api: TestClient, webhook_id: str, **query: Any) -> list[dict[str, Any]]:
    page = ok(api.get(f"{V2}/webhooks/{webhook_id}/deliveries", params=query))
    items: list[dict[str, Any]] = page["deliveries"]
    return items


@dataclass(frozen=True)
class Work:
    project_id: str
    task_id: str


def make_work(api: TestClient) -> Work:
    """A project with an assigned task, to track time against."""
    project = ok(api.post(f"{V2}/projects", json={"name": "Website"}), 201)
    task = ok(api.post(f"{V2}/tasks", json={"name": "Design"}), 201)
    path = f"{V2}/projects/{project['id']}/task_assignments"
    ok(api.post(path, json={"task_id": task["id"]}), 201)
    return Work(project["id"], task["id"])


Check = Callable[[], bool]


def eventually(check: Check, timeout: float = 15.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(0.02)


# --- the receivers' side of the signing schemes, as their API docs show it ------------------


def temporalist_verify(secret: str, signature_header: str, raw_body: bytes) -> bool:
    # Verbatim from reference/temporalist-api-v1.md, "Verifying signatures".
    # signature_header looks like: "t=1781434200,v1=5257a869e6…"
    parts = dict(p.split("=", 1) for p in signature_header.split(","))
    timestamp, given = parts["t"], parts["v1"]
    signed = f"{timestamp}.".encode() + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


# Verbatim from reference/clockeye-api.md, "Verify Signature", run by Node.js.
CLOCKEYE_JS = """
const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expected = `sha256=${crypto
    .createHmac('sha256', secret)
    .update(payload)
    .digest('hex')}`;

  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expected)
  );
}
"""


def clockeye_verify_in_node(payload: bytes, signature: str, secret: str) -> bool:
    script = CLOCKEYE_JS + (
        "const [payload, signature, secret] = JSON.parse(require('fs').readFileSync(0));\n"
        "process.stdout.write(String(verifyWebhookSignature(payload, signature, secret)));\n"
    )
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "-e", script],
        input=json.dumps([payload.decode(), signature, secret]),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout == "true"


def clockeye_verify(payload: bytes, signature: str, secret: str) -> bool:
    """The ClockEye snippet in Python (timingSafeEqual throws on a length mismatch, which a
    receiver treats as a failed check)."""
    expected = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.encode(), expected.encode())
