"""Real SMTP servers on 127.0.0.1 for the email tests: aiosmtpd keeping what arrived, and
raw sockets that never answer or answer too slowly."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Delivery:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """What an aiosmtpd server received; `refuse` lists addresses answered 550 at RCPT."""

    port: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.deliveries.append(Delivery(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


class _Login:
    """aiosmtpd authenticator accepting one user:password pair."""

    def __init__(self, mailbox: Mailbox, user: str, password: str):
        self.mailbox, self.user, self.password = mailbox, user, password

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        self.mailbox.logins.append((user, password))
        ok = (user, password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)


@contextlib.contextmanager
def smtp_server(
    *,
    login: tuple[str, str] | None = None,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
) -> Iterator[Mailbox]:
    """An aiosmtpd server on 127.0.0.1: plain; with STARTTLS required; or TLS from the start."""
    mailbox = Mailbox(port=free_port())
    kwargs: dict[str, Any] = {}
    if login is not None:
        kwargs["authenticator"] = _Login(mailbox, *login)
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = starttls is not None
    if starttls is not None:
        kwargs["tls_context"] = starttls
        kwargs["require_starttls"] = True
    if implicit_tls is not None:
        kwargs["ssl_context"] = implicit_tls
    controller = Controller(mailbox, hostname=HOST, port=mailbox.port, **kwargs)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@contextlib.contextmanager
def silent_server(greeting_every: float | None = None) -> Iterator[int]:
    """A TCP server that accepts and then never answers (greeting_every=None), or dribbles its
    greeting one byte every `greeting_every` seconds: each byte arrives well within a socket
    timeout, the whole never does."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen()
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            if greeting_every is None:
                continue
            for byte in b"220 slow.example ESMTP\r\n" * 100:
                if stop.wait(greeting_every):
                    break
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def elapsed(started: float) -> float:
    return time.monotonic() - started
