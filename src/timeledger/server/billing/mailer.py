"""Outgoing email over SMTP (smtplib), for invoices sent to clients.

A send is bounded by `Settings.smtp_timeout` from connection to last reply: every socket
operation times out, and a watchdog shuts the connection down at the deadline, so a server
that trickles its answers cannot hold a request longer. Any failure (refused connection,
timeout, TLS, login, a refused recipient) raises DeliveryFailed saying why."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType

from timeledger.server.config import Settings, SmtpServer
from timeledger.server.core.errors import DomainError

# How often the watchdog retries shutting a connection that was still being opened.
_RETRY = 0.05


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class OutgoingEmail:
    recipients: tuple[str, ...]  # "address" or "Name <address>"
    cc: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class DeliveryFailed(DomainError):
    """The SMTP server did not take the email; the message says why."""

    status = 502
    code = "email_delivery_failed"


class Mailer:
    def __init__(self, server: SmtpServer | None, sender: str, timeout: float):
        self.server = server
        self.sender = sender
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        return cls(settings.smtp, settings.smtp_from, settings.smtp_timeout)

    @property
    def configured(self) -> bool:
        """False when TIMELEDGER_SMTP_URL is unset: there is nowhere to send to."""
        return self.server is not None

    def _message(self, email: OutgoingEmail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(email.recipients)
        if email.cc:
            message["Cc"] = ", ".join(email.cc)
        # A header is one line: newlines in a subject would end it (or inject headers).
        message["Subject"] = " ".join(email.subject.split())
        message.set_content(email.body)
        for item in email.attachments:
            maintype, _, subtype = item.content_type.partition("/")
            message.add_attachment(
                item.content, maintype=maintype, subtype=subtype, filename=item.filename
            )
        return message

    def send(self, email: OutgoingEmail) -> None:
        """Deliver to every recipient (To and Cc), or raise DeliveryFailed."""
        server = self.server
        if server is None:
            raise DeliveryFailed("no SMTP server is configured (TIMELEDGER_SMTP_URL)")
        message = self._message(email)
        where = f"{server.host}:{server.port}"
        client: smtplib.SMTP = (
            smtplib.SMTP_SSL(timeout=self.timeout, context=ssl.create_default_context())
            if server.security == "tls"
            else smtplib.SMTP(timeout=self.timeout)
        )
        # The TLS peer name (smtplib sets it only when its constructor connects, which would
        # leave the greeting outside the watchdog's reach).
        client._host = server.host  # type: ignore[attr-defined]
        watchdog = _Watchdog(client, time.monotonic() + self.timeout)
        try:
            with watchdog:
                client.connect(server.host, server.port)
                if server.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if server.username is not None:
                    client.login(server.username, server.password or "")
                refused = client.send_message(message)
                with contextlib.suppress(OSError):  # taken is taken, however the goodbye goes
                    client.quit()
        except smtplib.SMTPRecipientsRefused as exc:
            refusals = _refusals(exc.recipients)
            raise DeliveryFailed(f"the SMTP server at {where} refused {refusals}") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"the SMTP server at {where} answered {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except ConnectionRefusedError:
            raise DeliveryFailed(f"the SMTP server at {where} refused the connection") from None
        except OSError as exc:  # smtplib's errors, TLS errors, a dropped connection
            # smtplib turns a socket timeout while reading a reply into SMTPServerDisconnected.
            timed_out = isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)
            if watchdog.fired or timed_out:
                raise DeliveryFailed(
                    f"the SMTP server at {where} did not answer within {self.timeout:g}s"
                ) from None
            reason = str(exc) or type(exc).__name__
            raise DeliveryFailed(
                f"sending to the SMTP server at {where} failed: {reason}"
            ) from None
        finally:
            client.close()
        if refused:
            # Some recipients took it; still a failure, so the caller hears who did not.
            raise DeliveryFailed(f"the SMTP server at {where} refused {_refusals(refused)}")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address} ({code} {_text(reply)})" for address, (code, reply) in recipients.items()
    )


class _Watchdog:
    """Shuts the client's socket down once the deadline passes (and keeps doing so, in case
    it was still being opened), which ends any read or write blocked on it at once."""

    def __init__(self, client: smtplib.SMTP, deadline: float):
        self.client = client
        self.deadline = deadline
        self.done = threading.Event()
        self.fired = False
        self.thread = threading.Thread(target=self._watch, name="smtp-watchdog", daemon=True)

    def __enter__(self) -> _Watchdog:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        delay = max(0.0, self.deadline - time.monotonic())
        while not self.done.wait(delay):
            self.fired = True
            sock = self.client.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)
            delay = _RETRY
