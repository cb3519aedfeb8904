"""Invoice PDFs, drawn with fpdf2 (pure Python).

Text is set in DejaVu Sans, shipped in billing/fonts/ and embedded (subset) in every PDF, so
Latin, Greek, Cyrillic and most symbols print whatever the host has installed. Characters
DejaVu lacks (CJK: "東京") are drawn from the first system fallback font found
(`FALLBACK_FONTS`: `apt-get install fonts-droid-fallback` or `fonts-noto-cjk`); without
one, each such character prints as U+FFFD "�", visibly, never dropped in silence.

Amounts are formatted from their Decimal, never through float: half-up to the currency's
minor unit (they already are), thousands grouped, the ISO code beside the totals."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # (fpdf2 requires it)
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from timeledger.server.billing.document import (
    DocumentLine,
    InvoiceDocument,
    Party,
    day,
    money,
    percent,
    quantity,
    unit_price,
)

FONT_DIR = Path(__file__).parent / "fonts"
FONT = "DejaVu"
REGULAR = FONT_DIR / "DejaVuSans.ttf"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
# Fonts with CJK glyphs as Debian and Ubuntu packages install them; the first found is used.
FALLBACK_FONTS = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # fonts-droid-fallback
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # fonts-noto-cjk
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
)
FALLBACK = "Fallback"
MISSING = "\ufffd"

# State stamped beside the title, for invoices that are not (yet, or any more) payable.
STAMPS = {"draft": "DRAFT", "closed": "CLOSED", "paid": "PAID"}
INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (222, 226, 230)
SHADE = (241, 243, 245)
# Line-item columns, as shares of the page width: kind, description, qty, price, amount.
COLUMNS = (13, 45, 10, 16, 16)


@functools.cache
def _fallback() -> Path | None:
    return next((path for path in FALLBACK_FONTS if path.is_file()), None)


@functools.cache
def _advances(path: Path) -> dict[int, float]:
    """Each code point a font has a glyph for, with its advance width in ems (read once per
    process): the table body is measured with these, far faster than asking fpdf2."""
    with TTFont(path, lazy=True, fontNumber=0) as font:
        hmtx, units = font["hmtx"], font["head"].unitsPerEm
        return {point: hmtx[glyph][0] / units for point, glyph in font.getBestCmap().items()}


@functools.cache
def _advances_with(fallback: Path) -> dict[int, float]:
    """DejaVu's advances, and the fallback font's for what DejaVu lacks."""
    return {**_advances(fallback), **_advances(REGULAR)}


class _Text:
    """Makes any text printable: control characters become spaces (newlines stay), and
    characters no available font can draw become U+FFFD."""

    def __init__(self) -> None:
        fallback = _fallback()
        self.own = _advances(REGULAR)
        self.extra = _advances(fallback) if fallback else {}
        self.needs_fallback = False

    def __call__(self, text: str) -> str:
        out = []
        for char in text.replace("\r\n", "\n"):
            point = ord(char)
            if char == "\n" or point in self.own:
                out.append(char)
            elif unicodedata.category(char).startswith("C") or char.isspace():
                out.append(" ")
            elif point in self.extra:
                self.needs_fallback = True
                out.append(char)
            else:
                out.append(MISSING)
        return "".join(out)


class _Invoice(FPDF):
    def __init__(self, doc: InvoiceDocument) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc = doc
        self.clean = _Text()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            5,
            self.clean(f"Invoice {self.doc.number} · page {self.page_no()} of {{nb}}"),
            align="C",
        )


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    pdf = _Invoice(doc)
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font(FONT, "", REGULAR)
    pdf.add_font(FONT, "B", BOLD)
    text = pdf.clean
    # Clean every string first: whether a fallback font is needed is known before drawing.
    sender, recipient = _party(doc.sender, text), _party(doc.recipient, text)
    rows = [(text(line.kind), text(line.description), line) for line in doc.lines]
    subject, notes = text(doc.subject or ""), text(doc.notes or "")
    number, po = text(doc.number), text(doc.purchase_order or "")
    # The bold face lacks a few glyphs of the regular one (mathematical letters): those
    # come from the regular face, and what DejaVu lacks from the fallback font.
    fallbacks = [FONT]
    fallback = _fallback()
    if text.needs_fallback and fallback is not None:
        pdf.add_font(FALLBACK, "", fallback)
        fallbacks.append(FALLBACK)
    pdf.set_fallback_fonts(fallbacks, exact_match=False)
    pdf.set_title(f"Invoice {number}")
    pdf.set_author(sender[0])
    pdf.set_creator("timeledger")
    pdf.add_page()
    pdf.set_text_color(*INK)

    _header(pdf, doc, sender, number)
    _parties_and_dates(pdf, doc, recipient, po)
    if subject:
        pdf.set_font(FONT, "B", 10)
        pdf.multi_cell(0, 5, subject, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)
    _lines(pdf, doc, rows)
    _totals(pdf, doc)
    if notes:
        pdf.ln(6)
        pdf.set_font(FONT, "B", 9)
        pdf.cell(0, 5, "Notes", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, size=9)
        pdf.multi_cell(0, 4.5, notes, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _party(party: Party, text: _Text) -> tuple[str, str]:
    """(name, the lines below it: address, then email)."""
    details = [party.address.strip() if party.address else "", party.email or ""]
    return text(party.name), text("\n".join(part for part in details if part))


def _header(pdf: _Invoice, doc: InvoiceDocument, sender: tuple[str, str], number: str) -> None:
    top, half = pdf.get_y(), pdf.epw / 2
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(half, 6.5, sender[0], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    if sender[1]:
        pdf.multi_cell(half, 4.5, sender[1], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()

    pdf.set_xy(pdf.l_margin + half, top)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 22)
    pdf.cell(half, 10, "INVOICE", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    pdf.multi_cell(half, 5, f"No. {number}", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    stamp = STAMPS.get(doc.state)
    if stamp:
        pdf.set_font(FONT, "B", 10)
        pdf.set_text_color(*MUTED)
        pdf.cell(half, 5, stamp, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)
    pdf.set_draw_color(*RULE)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(5)


def _parties_and_dates(
    pdf: _Invoice, doc: InvoiceDocument, recipient: tuple[str, str], po: str
) -> None:
    top, half = pdf.get_y(), pdf.epw / 2
    pdf.set_font(FONT, "B", 8)
    pdf.set_text_color(*MUTED)
    pdf.cell(half, 5, "BILL TO", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(half - 4, 5.5, recipient[0], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    if recipient[1]:
        pdf.multi_cell(half - 4, 4.5, recipient[1], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()

    facts = [("Issue date", day(doc.issue_date))]
    if doc.due_date is not None:
        facts.append(("Due date", day(doc.due_date)))
    if doc.period_start is not None and doc.period_end is not None:
        facts.append(("Period", f"{day(doc.period_start)} \N{EN DASH} {day(doc.period_end)}"))
    if po:
        facts.append(("PO number", po))
    facts.append(("Currency", doc.currency))
    pdf.set_y(top)
    for label, value in facts:
        pdf.set_x(pdf.l_margin + half)
        pdf.set_font(FONT, size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(half * 0.35, 5, label)
        pdf.set_text_color(*INK)
        pdf.multi_cell(half * 0.65, 5, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)


def _lines(
    pdf: _Invoice, doc: InvoiceDocument, rows: Iterable[tuple[str, str, DocumentLine]]
) -> None:
    """The line items. Drawn cell by cell rather than with fpdf2's table(), which measures
    every cell twice and takes seconds for a few hundred lines; a row that does not fit on
    the page starts a new one, under the heading row again."""
    currency = doc.currency
    widths = [pdf.epw * share / sum(COLUMNS) for share in COLUMNS]
    heading = ("Item", "Description", "Qty", "Unit price", f"Amount ({currency})")
    _heading_row(pdf, widths, heading)
    size = 9
    pdf.set_font(FONT, size=size)
    body = _Body(pdf, size)
    for kind, description, line in rows:  # kind and description come cleaned
        cells = (
            body.wrap(kind, widths[0]),
            body.wrap(description, widths[1]),
            [quantity(line.quantity)],
            [unit_price(line.unit_price, currency)],
            [money(line.amount, currency)],
        )
        height = max(len(cell) for cell in cells) * LINE + 2 * PAD
        if pdf.will_page_break(height):
            pdf.add_page()
            _heading_row(pdf, widths, heading)
            pdf.set_font(FONT, size=size)
        _row(pdf, widths, cells, height, body)


LINE = 4.6  # mm per line of text in a table cell
PAD = 1.4  # mm above and below it
ALIGN = ("L", "L", "R", "R", "R")


class _Body:
    """Measures and wraps the table body's text (regular weight, one size) from the fonts'
    advance widths, and draws it with text(): fpdf2's multi_cell() and cell() cost about a
    millisecond a call, which is seconds for a long invoice. Only lines that need the
    fallback font are drawn with cell(), which switches fonts."""

    def __init__(self, pdf: _Invoice, size_pt: float):
        self.pdf = pdf
        self.own = pdf.clean.own
        fallback = _fallback()
        self.ems = _advances_with(fallback) if pdf.clean.needs_fallback and fallback else self.own
        self.scale = size_pt * 25.4 / 72  # ems to mm

    def in_own_font(self, text: str) -> bool:
        return all(ord(char) in self.own for char in text)

    def width(self, text: str) -> float:
        ems = self.ems
        return sum(ems[ord(char)] for char in text) * self.scale

    def wrap(self, text: str, column: float) -> list[str]:
        room = column - 2 * self.pdf.c_margin
        if "\n" not in text and self.width(text) <= room:
            return [text]
        space = self.width(" ")
        lines = []
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split():
                size = self.width(word)
                while size > room:  # longer than the column: break it where it must
                    if line:
                        lines.append(line)
                    cut = self._fit(word, room)
                    lines.append(word[:cut])
                    word, line, used = word[cut:], "", 0.0
                    size = self.width(word)
                if line and used + space + size <= room:
                    line, used = f"{line} {word}", used + space + size
                else:
                    if line:
                        lines.append(line)
                    line, used = word, size
            lines.append(line)
        return lines

    def _fit(self, word: str, room: float) -> int:
        """How many leading characters of `word` fit in `room` (at least one)."""
        used = 0.0
        for count, char in enumerate(word):
            used += self.ems[ord(char)] * self.scale
            if used > room:
                return max(count, 1)
        return len(word)

    def draw(self, x: float, y: float, column: float, text: str, align: str) -> None:
        """`text` in the cell at (x, y), where cell() would put it."""
        pdf = self.pdf
        if not self.in_own_font(text):
            pdf.set_xy(x, y)
            pdf.cell(column, LINE, text, align=align)
            return
        shift = 0.0 if align == "L" else column - 2 * pdf.c_margin - self.width(text)
        pdf.text(x + pdf.c_margin + shift, y + LINE / 2 + 0.3 * pdf.font_size, text)


def _heading_row(pdf: _Invoice, widths: list[float], heading: tuple[str, ...]) -> None:
    pdf.set_font(FONT, "B", 8.5)
    pdf.set_fill_color(*SHADE)
    pdf.rect(pdf.l_margin, pdf.get_y(), pdf.epw, LINE + 2 * PAD, style="F")
    _row(pdf, widths, [[label] for label in heading], LINE + 2 * PAD)


def _row(
    pdf: _Invoice,
    widths: list[float],
    cells: Iterable[list[str]],
    height: float,
    body: _Body | None = None,
) -> None:
    """One table row: the body's through `body`, the heading row (bold) through cell()."""
    top, x = pdf.get_y(), pdf.l_margin
    for width, lines, align in zip(widths, cells, ALIGN, strict=True):
        for number, text in enumerate(lines):
            y = top + PAD + number * LINE
            if body is not None:
                body.draw(x, y, width, text, align)
            else:
                pdf.set_xy(x, y)
                pdf.cell(width, LINE, text, align=align)
        x += width
    pdf.set_draw_color(*RULE)
    pdf.line(pdf.l_margin, top + height, pdf.l_margin + pdf.epw, top + height)
    pdf.set_xy(pdf.l_margin, top + height)


def _totals(pdf: _Invoice, doc: InvoiceDocument) -> None:
    currency = doc.currency
    rows: list[tuple[str, str, bool]] = [("Subtotal", money(doc.subtotal, currency), False)]
    if doc.discount_amount:
        label = f"Discount ({percent(doc.discount)})" if doc.discount else "Discount"
        rows.append((label, "-" + money(doc.discount_amount, currency), False))
    if doc.tax_amount or doc.tax:
        label = f"Tax ({percent(doc.tax)})" if doc.tax else "Tax"
        rows.append((label, money(doc.tax_amount, currency), False))
    if doc.tax2_amount or doc.tax2:
        label = f"Tax 2 ({percent(doc.tax2)})" if doc.tax2 else "Tax 2"
        rows.append((label, money(doc.tax2_amount, currency), False))
    rows.append(("Total", f"{currency} {money(doc.amount, currency)}", True))
    if doc.paid_amount:
        rows.append(("Paid", "-" + money(doc.paid_amount, currency), False))
    rows.append(("Amount due", f"{currency} {money(doc.due_amount, currency)}", True))

    pdf.ln(4)
    if pdf.will_page_break(6 * len(rows)):  # keep the totals together
        pdf.add_page()
    width = pdf.epw * 0.45
    for label, value, strong in rows:
        pdf.set_x(pdf.l_margin + pdf.epw - width)
        pdf.set_font(FONT, "B" if strong else "", 10 if strong else 9)
        if strong:
            pdf.set_draw_color(*RULE)
            pdf.line(pdf.get_x(), pdf.get_y(), pdf.get_x() + width, pdf.get_y())
        pdf.cell(width * 0.5, 6, label)
        pdf.cell(width * 0.5, 6, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
