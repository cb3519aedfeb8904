"""`python -m bench.invoice_pdf`: render_invoice_pdf of a 500-line invoice, timed beside its
budget (1 s). No database or server: the PDF is drawn from an InvoiceDocument, which is what
GET /api/v2/invoices/{id}/pdf and an emailed invoice do after loading the invoice.

Cases: Latin text only; and the same with CJK names, which (when a fallback font such as
fonts-droid-fallback is installed) also loads and subsets that font. The first render of a
process (imports, reading the fonts' coverage) is reported apart.

    python -m bench.invoice_pdf                 # 500 lines, 10 renders per case
    python -m bench.invoice_pdf --lines 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from decimal import Decimal

from timeledger.server.billing import pdf
from timeledger.server.billing.document import DocumentLine, InvoiceDocument, Party
from timeledger.server.billing.pdf import render_invoice_pdf

BUDGET_MS = 1000.0
KINDS = ("Service", "Product", "Expense", "Outcome")


def invoice(lines: int, cjk: bool) -> InvoiceDocument:
    """An invoice of `lines` lines, every seventh with a description that wraps."""
    where = "東京オフィス" if cjk else "Zürich office"
    items = []
    for n in range(lines):
        quantity = Decimal(n % 9 + 1) / 4
        price = Decimal("87.50") + n % 13
        description = f"Task {n}: review and deploy"
        if n % 7 == 0:
            description += f" for Zoë Müller, {where}, with notes long enough to wrap the cell"
        amount = (quantity * price).quantize(Decimal("0.01"))
        items.append(DocumentLine(KINDS[n % 4], description, quantity, price, amount, True, False))
    subtotal = sum((line.amount for line in items), Decimal(0))
    tax = (subtotal * Decimal("0.19")).quantize(Decimal("0.01"))
    return InvoiceDocument(
        number="ACME-202611-0042",
        state="open",
        issue_date=date(2026, 11, 27),
        due_date=date(2026, 12, 27),
        currency="EUR",
        sender=Party("Acme GmbH", "Hauptstraße 1\n10115 Berlin", "billing@acme.example"),
        recipient=Party("株式会社東京" if cjk else "Zoë Müller AG", "1-1 Marunouchi\nTokyo"),
        subject="November",
        notes="Thank you for your business.",
        purchase_order="PO-1",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        lines=tuple(items),
        subtotal=subtotal,
        discount=None,
        discount_amount=Decimal(0),
        tax=Decimal(19),
        tax_amount=tax,
        tax2=None,
        tax2_amount=Decimal(0),
        amount=subtotal + tax,
        paid_amount=Decimal(0),
        due_amount=subtotal + tax,
    )


def timed(doc: InvoiceDocument) -> tuple[float, float, int]:
    """(wall ms, CPU ms, PDF bytes). CPU time shows the cost apart from a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    data = render_invoice_pdf(doc)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.invoice_pdf", description=__doc__)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=10, help="renders per case (10)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the budget fails")
    args = parser.parse_args(argv)

    fallback = pdf._fallback()
    first_ms, _, _ = timed(invoice(args.lines, cjk=False))
    print(f"== invoice PDF, {args.lines} lines; CJK fallback font: {fallback or 'none'} ==")
    print(f"first render of the process: {first_ms:.0f} ms")
    header = ("p50 ms", "max ms", "cpu ms", "pages", "KiB", "budget")
    print(f"{'case':<8}" + "".join(f"{name:>9}" for name in header) + "  ok")
    passed = True
    for name, cjk in (("latin", False), ("cjk", True)):
        doc = invoice(args.lines, cjk)
        runs = [timed(doc) for _ in range(args.repeat)]
        samples = [wall for wall, _, _ in runs]
        p50, cpu = statistics.median(samples), statistics.median(c for _, c, _ in runs)
        ok = p50 <= BUDGET_MS
        passed &= ok
        pages = render_invoice_pdf(doc).count(b"/Type /Page\n")
        print(
            f"{name:<8}{p50:>9.0f}{max(samples):>9.0f}{cpu:>9.0f}{pages:>9}"
            f"{runs[0][2] / 1024:>9.0f}{BUDGET_MS:>9.0f}  {'yes' if ok else 'NO'}"
        )
    print(f"budget: {'PASS' if passed else 'FAIL'}" + ("" if args.strict else " (report only)"))
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
