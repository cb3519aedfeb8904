"""One POST of a delivery: signed, bounded in time and size, never redirected, and only
ever to an address the SSRF policy allows.

httpcore is used directly (httpx sits on it) because it lets us supply the network backend:
ours resolves the host, vets every address, then connects to a vetted address, so the check
and the connection use the same DNS answer. TLS still verifies the certificate against the
host name. Redirects are not followed: httpcore never does.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import anyio
import certifi
import httpcore

from timeledger import __version__
from timeledger.server.core.clock import utcnow
from timeledger.server.webhooks import signing
from timeledger.server.webhooks.deliveries import Job, Outcome
from timeledger.server.webhooks.ssrf import TargetPolicy, UnsafeTarget, parse_target, vet

TIMEOUT_SECONDS = 8.0
# Enough of a receiver's answer to see what it said; the rest is never read.
MAX_RESPONSE_BYTES = 1024
KEEPALIVE_SECONDS = 30.0
USER_AGENT = f"timeledger-webhooks/{__version__}"

log = logging.getLogger("timeledger.webhooks")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, checked on every new connection."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"DNS lookup of {host} failed") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        vet(host, addresses, self._policy)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeTarget("a unix socket is never a webhook target")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class Connections:
    """Keep-alive connections by origin, each carrying one request at a time. (httpcore's
    own pool rescans every connection for every request, which costs more than the requests
    themselves once dozens are in flight.) How many are open at once is bounded by the
    dispatcher's concurrency."""

    def __init__(self, policy: TargetPolicy, ssl_context: ssl.SSLContext) -> None:
        self._backend = GuardedBackend(policy)
        self._ssl_context = ssl_context
        self._idle: dict[str, list[httpcore.AsyncHTTPConnection]] = defaultdict(list)

    async def checkout(self, url: httpcore.URL) -> httpcore.AsyncHTTPConnection:
        idle = self._idle[str(url.origin)]
        while idle:
            connection = idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()
        return httpcore.AsyncHTTPConnection(
            url.origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=KEEPALIVE_SECONDS,
            network_backend=self._backend,
        )

    async def checkin(self, url: httpcore.URL, connection: httpcore.AsyncHTTPConnection) -> None:
        """Keep it for the next request if its last one finished cleanly, else close it."""
        if connection.is_idle():
            self._idle[str(url.origin)].append(connection)
        else:
            with anyio.CancelScope(shield=True):
                await connection.aclose()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                await connection.aclose()
        self._idle.clear()


def trusted_ssl_context() -> ssl.SSLContext:
    """Certificates checked against SSL_CERT_FILE or SSL_CERT_DIR when set (a private CA),
    else certifi's bundle: what httpx does, without importing it (6 MiB the server would
    hold only for this)."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


class Sender:
    """Sends jobs, reusing connections between them."""

    def __init__(
        self,
        policy: TargetPolicy,
        *,
        timeout: float = TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._policy = policy
        self._timeout = timeout
        self._connections = Connections(policy, ssl_context or trusted_ssl_context())

    async def aclose(self) -> None:
        await self._connections.aclose()

    async def send(self, job: Job) -> Outcome:
        """Attempt the delivery once; whatever happens is an Outcome, never an exception."""
        attempted_at = utcnow()
        started = time.perf_counter()
        status: int | None = None
        body: str | None = None
        error: str | None = None
        try:
            with anyio.fail_after(self._timeout):
                status, body = await self._post(job, int(attempted_at.timestamp()))
        except UnsafeTarget as exc:
            error = exc.message
        except (TimeoutError, httpcore.TimeoutException):
            error = f"timed out after {self._timeout:g} s"
        except httpcore.ConnectError as exc:
            error = f"could not connect: {exc}" if str(exc) else "could not connect"
        except httpcore.NetworkError as exc:
            error = f"connection lost: {exc}" if str(exc) else "connection lost"
        except httpcore.ProtocolError:
            error = "the receiver did not answer with valid HTTP"
        except Exception as exc:  # a bug here must fail the attempt, not the dispatcher
            log.exception("webhook attempt %s failed unexpectedly", job.delivery_id)
            error = f"internal error ({type(exc).__name__})"
        duration_ms = round((time.perf_counter() - started) * 1000)
        return Outcome(
            delivery_id=job.delivery_id,
            subscription_id=job.subscription_id,
            claim_token=job.claim_token,
            attempted_at=attempted_at,
            duration_ms=duration_ms,
            status_code=status,
            error=error[:255] if error else None,
            response_body=body,
        )

    async def _post(self, job: Job, timestamp: int) -> tuple[int, str]:
        # The form again (settings may have changed since); the addresses are vetted when
        # a connection is opened.
        parts = parse_target(job.url, self._policy)
        url = httpcore.URL(job.url)
        headers = {
            "Host": parts.netloc,
            "Content-Type": "application/json",
            "Content-Length": str(len(job.body)),
            "User-Agent": USER_AGENT,
            **signing.announce(job.scheme, job.event_type),
            **signing.sign(job.scheme, job.keys, str(job.delivery_id), timestamp, job.body),
        }
        phase = self._timeout
        request = httpcore.Request(
            "POST",
            url,
            headers=list(headers.items()),
            content=job.body,
            extensions={"timeout": {"connect": phase, "read": phase, "write": phase}},
        )
        connection = await self._connections.checkout(url)
        try:
            response = await connection.handle_async_request(request)
            received = bytearray()
            try:
                async for chunk in response.aiter_stream():
                    received += chunk
                    if len(received) >= MAX_RESPONSE_BYTES:
                        break  # the rest is never read; the connection is not reused
            finally:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
        finally:
            await self._connections.checkin(url, connection)
        text = bytes(received[:MAX_RESPONSE_BYTES]).decode("utf-8", errors="replace")
        return response.status, text
