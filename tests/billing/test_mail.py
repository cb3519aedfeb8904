"""The mailer against real SMTP servers on 127.0.0.1 (aiosmtpd, and sockets that stall):
what arrives, TLS both ways, login, and failures that say why and never outlast the timeout."""

from __future__ import annotations

import io
import ssl
import time
from pathlib import Path

import pytest
import trustme
from fpdf import FPDF
from pypdf import PdfReader
from smtpkit import HOST, elapsed, free_port, silent_server, smtp_server

from timeledger.server.billing.mailer import (
    Attachment,
    DeliveryFailed,
    Mailer,
    OutgoingEmail,
)
from timeledger.server.config import Settings, SettingsError, SmtpServer, parse_smtp_url


def mailer(
    url: str, timeout: float = 5.0, sender: str = "Billing <billing@acme.example>"
) -> Mailer:
    return Mailer.from_settings(Settings(smtp_url=url, smtp_from=sender, smtp_timeout=timeout))


def invoice_email(**overrides: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "recipients": ("Zoë Müller <zoe@client.example>", "ap@client.example"),
        "cc": ("owner@acme.example",),
        "subject": "Invoice ACME-0042 from Acme",
        "body": "Hello Zoë,\n\nHere is invoice ACME-0042 for EUR 1,234.50.\n",
        "attachments": (Attachment("invoice-ACME-0042.pdf", a_pdf(), "application/pdf"),),
        **overrides,
    }
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


def a_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Invoice ACME-0042")
    return bytes(pdf.output())


# --- delivery ---------------------------------------------------------------------------------


def test_delivers_recipients_subject_body_and_a_readable_pdf() -> None:
    email = invoice_email()
    with smtp_server() as box:
        mailer(f"smtp://{HOST}:{box.port}").send(email)
    [arrived] = box.deliveries
    assert arrived.sender == "billing@acme.example"
    assert sorted(arrived.recipients) == [
        "ap@client.example",
        "owner@acme.example",
        "zoe@client.example",
    ]
    message = arrived.message
    assert message["Subject"] == "Invoice ACME-0042 from Acme"
    assert message["To"] == "Zoë Müller <zoe@client.example>, ap@client.example"
    assert message["Cc"] == "owner@acme.example"
    body = message.get_body(("plain",))
    assert body is not None
    assert "EUR 1,234.50" in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "invoice-ACME-0042.pdf"
    content = attachment.get_content()
    assert content == email.attachments[0].content
    assert "Invoice ACME-0042" in PdfReader(io.BytesIO(content)).pages[0].extract_text()


def test_a_subject_with_newlines_stays_one_header() -> None:
    with smtp_server() as box:
        mailer(f"smtp://{HOST}:{box.port}").send(
            invoice_email(subject="Invoice\r\nBcc: victim@evil.example", attachments=())
        )
    [arrived] = box.deliveries
    assert arrived.message["Subject"] == "Invoice Bcc: victim@evil.example"
    assert arrived.message["Bcc"] is None
    assert "victim@evil.example" not in arrived.recipients


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_logs_in_with_the_url_credentials() -> None:
    with smtp_server(login=("billing@acme.example", "p@ss:word")) as box:
        mailer(f"smtp://billing%40acme.example:p%40ss%3Aword@{HOST}:{box.port}").send(
            invoice_email()
        )
    assert box.logins == [("billing@acme.example", "p@ss:word")]
    assert len(box.deliveries) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_rejected_login_is_reported() -> None:
    with smtp_server(login=("billing", "right")) as box, pytest.raises(DeliveryFailed) as failed:
        mailer(f"smtp://billing:wrong@{HOST}:{box.port}").send(invoice_email())
    assert failed.value.status == 502
    assert failed.value.code == "email_delivery_failed"
    assert "535" in failed.value.message
    assert box.deliveries == []


@pytest.fixture
def tls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 from a local CA that the mailer's
    default context trusts (SSL_CERT_FILE)."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    return context


def test_starttls_upgrades_before_logging_in(tls: ssl.SSLContext) -> None:
    with smtp_server(login=("billing", "secret"), starttls=tls) as box:
        mailer(f"smtp://billing:secret@{HOST}:{box.port}?starttls=true").send(invoice_email())
    assert box.logins == [("billing", "secret")]
    assert len(box.deliveries) == 1


def test_smtps_speaks_tls_from_the_start(tls: ssl.SSLContext) -> None:
    with smtp_server(implicit_tls=tls) as box:
        mailer(f"smtps://{HOST}:{box.port}").send(invoice_email())
    assert len(box.deliveries) == 1


def test_an_untrusted_certificate_fails_the_send(
    tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    with (
        smtp_server(implicit_tls=tls) as box,
        pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        mailer(f"smtps://{HOST}:{box.port}").send(invoice_email())
    assert box.deliveries == []


# --- failures ---------------------------------------------------------------------------------


def test_a_refused_recipient_is_named() -> None:
    with smtp_server() as box:
        box.refuse = {"ap@client.example", "zoe@client.example", "owner@acme.example"}
        with pytest.raises(DeliveryFailed) as failed:
            mailer(f"smtp://{HOST}:{box.port}").send(invoice_email())
    assert "zoe@client.example (550" in failed.value.message
    assert box.deliveries == []


def test_one_refused_recipient_of_several_is_still_a_failure() -> None:
    with smtp_server() as box:
        box.refuse = {"ap@client.example"}
        with pytest.raises(DeliveryFailed, match=r"refused ap@client\.example \(550"):
            mailer(f"smtp://{HOST}:{box.port}").send(invoice_email())


def test_a_closed_port_fails_at_once_saying_so() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match=f"{HOST}:{port} refused the connection"):
        mailer(f"smtp://{HOST}:{port}").send(invoice_email())
    assert elapsed(started) < 1


def test_a_server_that_never_answers_fails_within_the_timeout() -> None:
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(DeliveryFailed, match=r"did not answer within 0\.5s"):
            mailer(f"smtp://{HOST}:{port}", timeout=0.5).send(invoice_email())
        assert 0.45 < elapsed(started) < 1.0


def test_a_server_trickling_its_answer_is_cut_off_at_the_timeout() -> None:
    # Each byte comes well within the socket timeout; the whole greeting never does.
    with silent_server(greeting_every=0.05) as port:
        started = time.monotonic()
        with pytest.raises(DeliveryFailed, match=r"did not answer within 0\.6s"):
            mailer(f"smtp://{HOST}:{port}", timeout=0.6).send(invoice_email())
        assert 0.55 < elapsed(started) < 1.1


def test_unconfigured_is_not_configured_and_refuses_to_send() -> None:
    unset = Mailer.from_settings(Settings())
    assert unset.configured is False
    with pytest.raises(DeliveryFailed, match="TIMELEDGER_SMTP_URL"):
        unset.send(invoice_email())
    assert mailer("smtp://127.0.0.1").configured is True


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", SmtpServer("mail.example", 25, "none", None, None)),
        (
            "smtp://u:p@mail.example:587?starttls=true",
            SmtpServer("mail.example", 587, "starttls", "u", "p"),
        ),
        ("smtps://mail.example", SmtpServer("mail.example", 465, "tls", None, None)),
        (
            "smtps://me%40x.example:s%2Fcret@mail.example:2465",
            SmtpServer("mail.example", 2465, "tls", "me@x.example", "s/cret"),
        ),
    ],
)
def test_smtp_urls(url: str, expected: SmtpServer) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        ({"TIMELEDGER_SMTP_URL": "mail.example:25"}, "smtp://"),
        ({"TIMELEDGER_SMTP_URL": "http://mail.example"}, "smtp://"),
        ({"TIMELEDGER_SMTP_URL": "smtp://mail.example:99999"}, "port"),
        ({"TIMELEDGER_SMTP_URL": "smtp://mail.example?starttls=maybe"}, "starttls"),
        ({"TIMELEDGER_SMTP_TIMEOUT": "0"}, "TIMELEDGER_SMTP_TIMEOUT"),
        ({"TIMELEDGER_SMTP_TIMEOUT": "soon"}, "TIMELEDGER_SMTP_TIMEOUT"),
    ],
)
def test_bad_smtp_settings_fail_at_startup(env: dict[str, str], mentions: str) -> None:
    with pytest.raises(SettingsError, match=mentions):
        Settings.from_env(env)


def test_smtp_settings_from_env() -> None:
    settings = Settings.from_env(
        {
            "TIMELEDGER_SMTP_URL": "smtp://mail.example:2525",
            "TIMELEDGER_SMTP_FROM": "Acme <billing@acme.example>",
            "TIMELEDGER_SMTP_TIMEOUT": "2.5",
        }
    )
    assert settings.smtp == SmtpServer("mail.example", 2525, "none", None, None)
    assert (settings.smtp_from, settings.smtp_timeout) == ("Acme <billing@acme.example>", 2.5)
    defaults = Settings.from_env({})
    assert (defaults.smtp, defaults.smtp_from, defaults.smtp_timeout) == (
        None,
        "timeledger@localhost",
        10.0,
    )
