"""Invoice PDFs and messages over /api/v2, on both databases: the PDF download, messages that
move an invoice's state, and real emails to an aiosmtpd server on 127.0.0.1, including
deliveries that fail or stall (502, and nothing recorded)."""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import keito
import pytest
from fastapi import FastAPI
from pypdf import PdfReader
from smtpkit import HOST, Mailbox, elapsed, free_port, silent_server, smtp_server
from starlette.testclient import TestClient

from callkit import V2, assert_error, get, ok, post
from timeledger.server.app import create_app
from timeledger.server.db import Database

JANE = {"name": "Jane Smith", "email": "jane@initech.example"}
ZOE = {"name": "Zoë Müller", "email": "zoe@initech.example"}


@pytest.fixture
def client_id(api: TestClient) -> str:
    client = post(api, "clients", name="Initech", currency="USD", address="1 Main St")
    return str(client["id"])


def an_invoice(api: TestClient, client_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "subject": "March work",
        "issue_date": "2026-03-31",
        "payment_term": "net_30",
        "purchase_order": "PO-314",
        "tax": 10,
        "notes": "Thank you, Zoë!",
        "line_items": [
            {"kind": "Service", "description": "Website build", "quantity": "12.5",
             "unit_price": 100, "taxed": True},
            {"kind": "Product", "description": "Hosting", "quantity": 1, "unit_price": "1234.5"},
        ],
        **fields,
    }  # fmt: skip
    created: dict[str, Any] = post(api, "invoices", **body)
    return created


def message(api: Any, invoice_id: str, **body: Any) -> Any:
    return api.post(f"{V2}/invoices/{invoice_id}/messages", json=body)


def pdf_text(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    return "\n".join(page.extract_text() for page in pages)


# --- the PDF ----------------------------------------------------------------------------------


def test_the_pdf_shows_the_invoice_as_the_api_does(api, client_id):
    invoice = an_invoice(api, client_id)
    response = api.get(f"{V2}/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    number = invoice["number"]
    assert response.headers["content-disposition"] == (
        f"attachment; filename=\"invoice-{number}.pdf\"; filename*=UTF-8''invoice-{number}.pdf"
    )
    text = pdf_text(response.content)
    # 12.5 x 100 = 1250.00 taxed at 10% = 125.00; + 1234.50 = 2484.50 + 125.00 = 2609.50
    assert (invoice["amount"], invoice["tax_amount"]) == (2609.5, 125)
    for expected in (
        "Acme",
        "Initech",
        "1 Main St",
        f"No. {number}",
        "Issue date 31 Mar 2026",
        "Due date 30 Apr 2026",
        "PO number PO-314",
        "March work",
        "Service Website build 12.5 100.00 1,250.00",
        "Product Hosting 1 1,234.50 1,234.50",
        "Subtotal 2,484.50",
        "Tax (10%) 125.00",
        "Total USD 2,609.50",
        "Amount due USD 2,609.50",
        "Thank you, Zoë!",
        "DRAFT",
    ):
        assert expected in text, (expected, text)


def test_the_pdf_of_another_accounts_invoice_is_not_found(api, client_id, other_tenant):
    invoice = an_invoice(api, client_id)
    response = other_tenant.client.get(f"{V2}/invoices/{invoice['id']}/pdf")
    assert_error(response, 404, "invoice")
    assert_error(api.get(f"{V2}/invoices/not-an-id/pdf"), 404, "invoice")


# --- messages without an SMTP server ----------------------------------------------------------


def test_send_without_smtp_records_the_message_and_opens_the_invoice(
    api, client_id, events, tenant
):
    invoice = an_invoice(api, client_id)
    response = message(
        api, invoice["id"], recipients=[JANE], subject="Your invoice", body="Attached.",
        attach_pdf=True, send_me_a_copy=True, event_type="send",
    )  # fmt: skip
    sent = ok(response, 201)
    assert response.headers["x-timeledger-email"] == "not_configured"
    assert sent["invoice_id"] == invoice["id"]
    assert sent["recipients"] == [JANE]
    assert (sent["subject"], sent["body"], sent["event_type"]) == (
        "Your invoice",
        "Attached.",
        "send",
    )
    assert (sent["attach_pdf"], sent["send_me_a_copy"], sent["include_attachments"]) == (
        True,
        True,
        False,
    )
    assert (sent["thank_you"], sent["reminder"]) == (False, False)
    assert sent["sent_by_email"] == "owner@acme.example"
    now = get(api, f"invoices/{invoice['id']}")
    assert now["state"] == "open"
    assert now["sent_at"] is not None
    assert [t for t, _ in events("invoice.")] == ["invoice.created", "invoice.sent"]
    listed = get(api, f"invoices/{invoice['id']}/messages")
    assert listed["invoice_messages"] == [sent]
    assert (listed["total_entries"], listed["page"], listed["next_page"]) == (1, 1, None)


def test_event_types_move_the_state(api, client_id, events):
    invoice = an_invoice(api, client_id)
    path = f"invoices/{invoice['id']}"

    def move(event_type: str) -> str:
        response = message(api, invoice["id"], event_type=event_type)
        assert response.headers["x-timeledger-email"] == "none"
        assert ok(response, 201)["event_type"] == event_type
        state: str = get(api, path)["state"]
        return state

    assert move("view") == "draft"
    assert move("close") == "closed"
    assert move("re-open") == "draft"  # never sent
    assert ok(message(api, invoice["id"], recipients=[JANE]), 201)["event_type"] == "send"
    assert get(api, path)["state"] == "open"
    assert move("draft") == "draft"
    kinds = [m["event_type"] for m in get(api, f"{path}/messages")["invoice_messages"]]
    assert kinds == ["draft", "send", "re-open", "close", "view"]  # newest first
    assert [t for t, _ in events("invoice.")].count("invoice.closed") == 1


def test_sending_a_closed_invoice_is_a_conflict_and_writes_nothing(api, client_id, rows, events):
    invoice = an_invoice(api, client_id)
    ok(message(api, invoice["id"], event_type="close"), 201)
    before, emitted = rows(), events()
    response = message(api, invoice["id"], recipients=[JANE], event_type="send")
    assert_error(response, 409, "closed")
    assert (rows(), events()) == (before, emitted)
    assert get(api, f"invoices/{invoice['id']}")["state"] == "closed"


BAD_MESSAGES = [
    ({"recipients": []}, "recipients"),
    ({"event_type": "send"}, "recipients"),
    ({"recipients": [{"name": "Jane", "email": "not-an-address"}]}, "recipients.0.email"),
    ({"recipients": [{"email": "jane@initech.example"}]}, "recipients.0.name"),
    ({"recipients": [{"name": "Jane\r\nBcc: x@evil.example", "email": "j@i.example"}]},
     "recipients.0.name"),
    ({"recipients": [{"name": "Jane", "email": "a@b.example,x@evil.example"}]},
     "recipients.0.email"),
    ({"recipients": [JANE], "event_type": "archive"}, "event_type"),
    ({"recipients": [JANE], "subject": "x" * 256}, "subject"),
    ({"recipients": "jane@initech.example"}, "recipients"),
    ({"recipients": [JANE] * 51}, "recipients"),
    ({"recipients": [JANE], "attach_pdf": "sometimes"}, "attach_pdf"),
]  # fmt: skip


def test_bad_messages_are_a_clear_400_and_write_nothing(api, client_id, rows):
    invoice = an_invoice(api, client_id)
    before = rows()
    for body, named in BAD_MESSAGES:
        assert_error(message(api, invoice["id"], **body), 400, named)
    assert rows() == before


def test_messages_of_a_missing_or_foreign_invoice_are_not_found(api, client_id, other_tenant, rows):
    invoice = an_invoice(api, client_id)
    before = rows()
    outsider = other_tenant.client
    assert_error(message(outsider, invoice["id"], recipients=[JANE]), 404, "invoice")
    assert_error(outsider.get(f"{V2}/invoices/{invoice['id']}/messages"), 404, "invoice")
    assert_error(message(api, "00000000-0000-0000-0000-000000000000", recipients=[JANE]), 404)
    assert rows() == before


def test_messages_page_like_every_list(api, client_id):
    invoice = an_invoice(api, client_id)
    for event_type in ("view", "view", "view"):
        ok(message(api, invoice["id"], event_type=event_type), 201)
    page = get(api, f"invoices/{invoice['id']}/messages", per_page=2, page=2)
    assert (page["total_entries"], page["total_pages"], page["per_page"]) == (3, 2, 2)
    assert len(page["invoice_messages"]) == 1
    assert (page["previous_page"], page["next_page"]) == (1, None)
    assert "page=1" in page["links"]["first"]
    assert page["links"]["next"] is None


def test_the_official_sdk_sends_and_lists_messages(api, client_id, sdk: keito.Keito):
    invoice = an_invoice(api, client_id)
    sent = sdk.invoices.messages.create(
        invoice["id"],
        recipients=[JANE],
        subject="Invoice from Acme",
        body="Please find your invoice attached.",
    )
    assert (sent.invoice_id, sent.event_type, sent.attach_pdf) == (invoice["id"], "send", True)
    assert sent.recipients == [JANE]
    listed = list(sdk.invoices.messages.list(invoice["id"]))
    assert [m.id for m in listed] == [sent.id]
    assert sdk.invoices.get(invoice["id"]).state.value == "open"


# --- real email -------------------------------------------------------------------------------


@pytest.fixture
def mail_app(db: Database) -> Callable[..., FastAPI]:
    """The app with an SMTP server configured (settings as keyword arguments)."""

    def _app(**smtp: Any) -> FastAPI:
        return create_app(dataclasses.replace(db.settings, **smtp), database=db)

    return _app


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def client_of(app: FastAPI, tenant: Any) -> TestClient:
    return TestClient(
        app,
        base_url="http://testserver",
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {tenant.token}"},
    )


def test_send_emails_the_pdf_and_a_copy_to_the_sender(api, client_id, tenant, mail_app, mailbox):
    invoice = an_invoice(api, client_id)
    app = mail_app(
        smtp_url=f"smtp://{HOST}:{mailbox.port}", smtp_from="Acme <billing@acme.example>"
    )
    with client_of(app, tenant) as mailing:
        response = message(
            mailing, invoice["id"], recipients=[JANE, ZOE],
            subject="Invoice for March", body="Hello Jane,\nyour invoice is attached.",
            attach_pdf=True, send_me_a_copy=True,
        )  # fmt: skip
    ok(response, 201)
    assert response.headers["x-timeledger-email"] == "sent"
    [arrived] = mailbox.deliveries
    assert arrived.sender == "billing@acme.example"
    assert sorted(arrived.recipients) == [
        "jane@initech.example",
        "owner@acme.example",
        "zoe@initech.example",
    ]
    email = arrived.message
    assert email["Subject"] == "Invoice for March"
    assert email["To"] == "Jane Smith <jane@initech.example>, Zoë Müller <zoe@initech.example>"
    assert email["Cc"] == "owner@acme.example"
    body = email.get_body(("plain",))
    assert body is not None
    assert body.get_content().splitlines() == ["Hello Jane,", "your invoice is attached."]
    [attachment] = list(email.iter_attachments())
    assert attachment.get_filename() == f"invoice-{invoice['number']}.pdf"
    text = pdf_text(attachment.get_content())
    assert "Total USD 2,609.50" in text
    assert "Initech" in text
    assert "DRAFT" not in text  # drawn after the move to open
    assert get(api, f"invoices/{invoice['id']}")["state"] == "open"


def test_send_without_subject_body_or_pdf_uses_defaults(api, client_id, tenant, mail_app, mailbox):
    invoice = an_invoice(api, client_id)
    with client_of(mail_app(smtp_url=f"smtp://{HOST}:{mailbox.port}"), tenant) as mailing:
        sent = ok(message(mailing, invoice["id"], recipients=[JANE], attach_pdf=False), 201)
    [arrived] = mailbox.deliveries
    assert arrived.recipients == ["jane@initech.example"]
    assert arrived.message["Subject"] == f"Invoice {invoice['number']} from Acme"
    assert sent["subject"] == arrived.message["Subject"]
    content = arrived.message.get_body(("plain",)).get_content()
    assert "USD 2,609.50" in content
    assert "by 30 Apr 2026" in content
    assert list(arrived.message.iter_attachments()) == []


def test_other_event_types_send_no_email(api, client_id, tenant, mail_app, mailbox):
    invoice = an_invoice(api, client_id)
    with client_of(mail_app(smtp_url=f"smtp://{HOST}:{mailbox.port}"), tenant) as mailing:
        ok(message(mailing, invoice["id"], recipients=[JANE], event_type="close"), 201)
        ok(message(mailing, invoice["id"], recipients=[JANE], event_type="view"), 201)
    assert mailbox.deliveries == []


def test_a_refused_connection_is_a_502_and_nothing_is_recorded(
    api, client_id, tenant, mail_app, rows, events
):
    invoice = an_invoice(api, client_id)
    before, emitted = rows(), events()
    port = free_port()
    with client_of(mail_app(smtp_url=f"smtp://{HOST}:{port}"), tenant) as mailing:
        response = message(mailing, invoice["id"], recipients=[JANE], attach_pdf=True)
    body = assert_error(response, 502, f"{HOST}:{port}", "refused the connection")
    assert body["error"] == "email_delivery_failed"
    assert (rows(), events()) == (before, emitted)
    assert get(api, f"invoices/{invoice['id']}")["state"] == "draft"
    assert get(api, f"invoices/{invoice['id']}/messages")["invoice_messages"] == []


def test_a_refused_recipient_is_a_502_naming_it(api, client_id, tenant, mail_app, mailbox, rows):
    invoice = an_invoice(api, client_id)
    mailbox.refuse = {"jane@initech.example"}
    before = rows()
    with client_of(mail_app(smtp_url=f"smtp://{HOST}:{mailbox.port}"), tenant) as mailing:
        response = message(mailing, invoice["id"], recipients=[JANE])
    assert_error(response, 502, "jane@initech.example", "550")
    assert rows() == before


def test_a_stalled_server_fails_the_send_within_the_timeout(api, client_id, tenant, mail_app, rows):
    invoice = an_invoice(api, client_id)
    before = rows()
    with silent_server() as port:
        app = mail_app(smtp_url=f"smtp://{HOST}:{port}", smtp_timeout=0.5)
        with client_of(app, tenant) as mailing:
            started = time.monotonic()
            response = message(mailing, invoice["id"], recipients=[JANE])
            took = elapsed(started)
    assert_error(response, 502, "did not answer within 0.5s")
    assert took < 5  # the server would hold it forever; the mailer's own test bounds it tightly
    assert rows() == before
    assert get(api, f"invoices/{invoice['id']}")["state"] == "draft"


def test_a_send_waiting_on_smtp_holds_no_handler_thread(api, client_id, tenant, mail_app):
    """With one handler thread, a send stalled on its SMTP server still lets other requests'
    handlers run: the send waits outside the handler limit (surfaces/http.py)."""
    invoice = an_invoice(api, client_id)
    with silent_server() as port:
        app = mail_app(smtp_url=f"smtp://{HOST}:{port}", smtp_timeout=3, handler_threads=1)
        with client_of(app, tenant) as mailing:
            sent: list[Any] = []
            sending = threading.Thread(
                target=lambda: sent.append(message(mailing, invoice["id"], recipients=[JANE]))
            )
            sending.start()
            time.sleep(0.5)  # the send is waiting for the server's greeting
            started = time.monotonic()
            assert mailing.get(f"{V2}/clients/{client_id}").status_code == 200
            assert mailing.get(f"{V2}/tasks").status_code == 200
            took = elapsed(started)
            assert sending.is_alive()  # still stalled: the reads did not wait for it
            sending.join(timeout=10)
    assert took < 1.5
    assert_error(sent[0], 502, "did not answer within 3")


def test_members_may_not_send_or_download(api, client_id, app, rows):
    invoice = an_invoice(api, client_id)
    member = post(api, "users", email="mo@acme.example", role="member")
    key = post(api, "api_keys", name="mo", scope="write", user_id=member["id"])
    before = rows()
    headers = {"Authorization": f"Bearer {key['token']}"}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as mo:
        assert_error(message(mo, invoice["id"], recipients=[JANE]), 403, "manager")
        assert_error(mo.get(f"{V2}/invoices/{invoice['id']}/pdf"), 403, "manager")
        assert_error(mo.get(f"{V2}/invoices/{invoice['id']}/messages"), 403, "manager")
    assert rows() == before
    assert get(api, f"invoices/{invoice['id']}")["state"] == "draft"
