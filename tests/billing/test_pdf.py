"""Invoice PDFs, read back with pypdf: names, addresses, dates, lines and totals as printed,
page breaks with the heading repeated, and text in any script."""

from __future__ import annotations

import dataclasses
import io
import logging
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from timeledger.server.billing import pdf as pdf_module
from timeledger.server.billing.document import (
    DocumentLine,
    InvoiceDocument,
    Party,
    money,
    quantity,
    unit_price,
)
from timeledger.server.billing.pdf import render_invoice_pdf


def line(
    description: str, qty: str, price: str, amount: str, kind: str = "Service"
) -> DocumentLine:
    return DocumentLine(
        kind, description, Decimal(qty), Decimal(price), Decimal(amount), True, False
    )


def document(**overrides: object) -> InvoiceDocument:
    fields: dict[str, object] = {
        "number": "ACME-202611-0042",
        "state": "open",
        "issue_date": date(2026, 11, 27),
        "due_date": date(2026, 12, 27),
        "currency": "EUR",
        "sender": Party("Acme GmbH", "Hauptstraße 1\n10115 Berlin", "billing@acme.example"),
        "recipient": Party("Zoë Müller AG", "Bahnhofstrasse 7\n8001 Zürich", None),
        "subject": "Website rebuild, November",
        "notes": "Thank you for your business.\nPayable by bank transfer.",
        "purchase_order": "PO-7781",
        "period_start": date(2026, 11, 1),
        "period_end": date(2026, 11, 30),
        "lines": (
            line("Design and build of the checkout", "12.5", "120", "1500.00"),
            line("Hosting, 12 months", "1", "1234.5", "1234.50", kind="Product"),
            line("Tokens", "3000000", "0.00000015", "0.45", kind="Outcome"),
        ),
        "subtotal": Decimal("2734.95"),
        "discount": Decimal("10"),
        "discount_amount": Decimal("273.50"),
        "tax": Decimal("19"),
        "tax_amount": Decimal("467.60"),
        "tax2": Decimal("2.5"),
        "tax2_amount": Decimal("61.52"),
        "amount": Decimal("2990.57"),
        "paid_amount": Decimal("1000"),
        "due_amount": Decimal("1990.57"),
        **overrides,
    }
    return InvoiceDocument(**fields)  # type: ignore[arg-type]


def text_of(data: bytes) -> list[str]:
    """Each page's text, as a reader extracts it."""
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_everything_on_the_invoice_is_printed() -> None:
    [page] = text_of(render_invoice_pdf(document()))
    for expected in (
        "Acme GmbH",
        "Hauptstraße 1",
        "10115 Berlin",
        "billing@acme.example",
        "INVOICE",
        "No. ACME-202611-0042",
        "Zoë Müller AG",
        "Bahnhofstrasse 7",
        "8001 Zürich",
        "Issue date 27 Nov 2026",
        "Due date 27 Dec 2026",
        "Period 1 Nov 2026 \N{EN DASH} 30 Nov 2026",
        "PO number PO-7781",
        "Website rebuild, November",
        "Item Description Qty Unit price Amount (EUR)",
        "Service Design and build of the checkout 12.5 120.00 1,500.00",
        "Product Hosting, 12 months 1 1,234.50 1,234.50",
        "Outcome Tokens 3,000,000 0.00000015 0.45",
        "Subtotal 2,734.95",
        "Discount (10%) -273.50",
        "Tax (19%) 467.60",
        "Tax 2 (2.5%) 61.52",
        "Total EUR 2,990.57",
        "Paid -1,000.00",
        "Amount due EUR 1,990.57",
        "Thank you for your business.",
        "Payable by bank transfer.",
        "Invoice ACME-202611-0042 · page 1 of 1",
    ):
        assert expected in page, (expected, page)
    assert "DRAFT" not in page


def test_lines_without_discount_tax_or_payments_print_only_what_applies() -> None:
    doc = document(
        discount=None,
        discount_amount=Decimal(0),
        tax=None,
        tax_amount=Decimal(0),
        tax2=None,
        tax2_amount=Decimal(0),
        paid_amount=Decimal(0),
        amount=Decimal("2734.95"),
        due_amount=Decimal("2734.95"),
        state="draft",
        purchase_order=None,
        period_start=None,
        period_end=None,
        subject=None,
        notes=None,
        due_date=None,
    )
    [page] = text_of(render_invoice_pdf(doc))
    assert "DRAFT" in page
    assert "Total EUR 2,734.95" in page
    assert "Amount due EUR 2,734.95" in page
    for absent in ("Discount", "Tax", "Paid", "PO number", "Period", "Due date", "Notes"):
        assert absent not in page, absent


@pytest.mark.parametrize(
    ("currency", "amount", "printed"),
    [
        ("USD", "1234567.5", "1,234,567.50"),
        ("JPY", "120000", "120,000"),
        ("KWD", "12.345", "12.345"),
        ("USD", "0", "0.00"),
        # a Decimal beyond a double's precision prints to the last digit
        ("USD", "98765432109.87", "98,765,432,109.87"),
    ],
)
def test_money_is_printed_from_the_decimal(currency: str, amount: str, printed: str) -> None:
    assert money(Decimal(amount), currency) == printed
    doc = document(currency=currency, amount=Decimal(amount), due_amount=Decimal(amount))
    [page] = text_of(render_invoice_pdf(doc))
    assert f"Total {currency} {printed}" in page


def test_quantities_and_unit_prices_print_as_entered() -> None:
    assert quantity(Decimal("1.5000")) == "1.5"
    assert quantity(Decimal("100")) == "100"
    assert quantity(Decimal("0.25")) == "0.25"
    assert unit_price(Decimal("120"), "USD") == "120.00"
    assert unit_price(Decimal("0.0000001500"), "USD") == "0.00000015"
    assert unit_price(Decimal("5"), "JPY") == "5"


def test_a_long_invoice_breaks_pages_and_repeats_the_heading() -> None:
    lines = tuple(
        line(
            f"Line {n:03d} " + ("with a description long enough to wrap " * (n % 3)),
            "1",
            "10",
            "10.00",
        )
        for n in range(1, 201)
    )
    doc = document(lines=lines, subtotal=Decimal("2000.00"))
    pages = text_of(render_invoice_pdf(doc))
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in page
    # The heading row on every page that holds line items (the totals may start a page).
    with_lines = [page for page in pages if "Line " in page]
    assert len(with_lines) >= len(pages) - 1
    assert all("Item Description Qty Unit price Amount (EUR)" in page for page in with_lines)
    printed = "\n".join(pages)
    assert [n for n in range(1, 201) if f"Line {n:03d}" not in printed] == []
    assert "Subtotal 2,000.00" in pages[-1]


def test_a_word_wider_than_its_column_is_broken_not_cut_off() -> None:
    url = "https://example.com/" + "a1b2c3d4e5" * 20
    doc = document(lines=(line(f"See {url} for details", "1", "10", "10.00"),))
    [page] = text_of(render_invoice_pdf(doc))
    assert url in "".join(page.split())
    assert "for details" in page


def test_text_in_other_scripts_prints_or_is_marked_never_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc = document(
        recipient=Party("Ελληνική Εταιρεία ΑΕ", "ул. Ленина 1\nМосква", None),  # noqa: RUF001
        # printed in bold, which has no mathematical letters: they come from the regular face
        sender=Party("Zoë Müller & Søn ApS — ½ € © \U0001d5a0\U0001d5ba", None, None),
        # an Egyptian hieroglyph: in no font we ship or look for
        notes="Danke! \U00013000 tab\there,\u0007bell, nul-free",
        lines=(line("Ünïcödé: ĀāĂă ŁłŃń ŐőŒœ ŠšŽž", "1", "10", "10.00"),),
    )
    with caplog.at_level(logging.WARNING):
        [page] = text_of(render_invoice_pdf(doc))
    page = " ".join(page.split())  # the sender's name wraps
    for expected in (
        "Ελληνική Εταιρεία ΑΕ",  # noqa: RUF001
        "ул. Ленина 1",
        "Москва",
        "Zoë Müller & Søn ApS — ½ € © \U0001d5a0\U0001d5ba",
        "Ünïcödé: ĀāĂă ŁłŃń ŐőŒœ ŠšŽž",
        "Danke! \ufffd tab here, bell, nul-free",
    ):
        assert expected in page, (expected, page)
    assert not [r for r in caplog.records if "missing" in r.getMessage()], caplog.text


def test_cjk_prints_with_a_fallback_font_or_is_marked() -> None:
    doc = document(recipient=Party("東京商事株式会社", "東京都千代田区丸の内1-1", None))
    [page] = text_of(render_invoice_pdf(doc))
    if pdf_module._fallback() is not None:
        assert "東京商事株式会社" in page
        assert "東京都千代田区丸の内1-1" in page
    else:
        assert "\ufffd" * 8 in page


def test_cjk_is_marked_when_no_fallback_font_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module, "FALLBACK_FONTS", ())
    pdf_module._fallback.cache_clear()
    try:
        doc = document(recipient=Party("東京 Zoë", None, None))
        [page] = text_of(render_invoice_pdf(doc))
    finally:
        pdf_module._fallback.cache_clear()
    assert "\ufffd\ufffd Zoë" in page


def test_the_bundled_fonts_are_embedded() -> None:
    data = render_invoice_pdf(document())
    reader = PdfReader(io.BytesIO(data))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = {str(fonts[key].get_object()["/BaseFont"]) for key in fonts}
    assert any(name.endswith("DejaVuSans") or "DejaVuSans" in name for name in names), names
    assert b"/FontFile2" in data  # the TrueType program itself, not a reference to one


def test_an_empty_invoice_still_renders() -> None:
    doc = dataclasses.replace(document(), lines=(), subtotal=Decimal(0))
    [page] = text_of(render_invoice_pdf(doc))
    assert "Subtotal 0.00" in page
