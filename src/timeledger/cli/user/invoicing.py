"""`invoice create | send | pdf`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from timeledger.cli.user.context import JsonFlag, UserError, command, connect, print_json
from timeledger.client.resources.invoices import LineItemFields, Recipient


class Term(StrEnum):
    upon_receipt = "upon_receipt"
    net_15 = "net_15"
    net_30 = "net_30"
    net_45 = "net_45"
    net_60 = "net_60"


invoice_app = typer.Typer(help="Create, send and download invoices.", no_args_is_help=True)


def parse_line(text: str) -> LineItemFields:
    """DESCRIPTION:QUANTITY:UNIT_PRICE, e.g. "Code review:42:15.00"."""
    description, _, rest = text.rpartition(":")
    description, _, quantity = description.rpartition(":")
    try:
        if not description:
            raise InvalidOperation
        return {
            "kind": "Service",
            "description": description,
            "quantity": Decimal(quantity),
            "unit_price": Decimal(rest),
        }
    except InvalidOperation:
        raise UserError(f"line {text!r} is not DESCRIPTION:QUANTITY:UNIT_PRICE") from None


@invoice_app.command("create")
@command
def create(
    client_ref: Annotated[str, typer.Option("--client", help="Client id or name.")],
    lines: Annotated[
        list[str] | None,
        typer.Option("--line", help="DESCRIPTION:QUANTITY:UNIT_PRICE; repeat for more lines."),
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Subject line.")] = None,
    payment_term: Annotated[Term, typer.Option(help="When payment is due.")] = Term.net_30,
    as_json: JsonFlag = False,
) -> None:
    """Create a draft invoice."""
    items = [parse_line(line) for line in lines or []]
    with connect() as client:
        billed = client.clients.resolve(client_ref)
        invoice = client.invoices.create(
            client_id=billed.id,
            subject=subject,
            payment_term=payment_term.value,
            line_items=items,
        )
    if as_json:
        print_json(invoice)
    else:
        total = f"{invoice.amount} {invoice.currency or ''}".strip()
        typer.echo(f"created invoice {invoice.number or invoice.id}: {total}")


@invoice_app.command("send")
@command
def send(
    invoice_id: Annotated[str, typer.Argument(metavar="ID")],
    to: Annotated[list[str], typer.Option("--to", help="Recipient email; repeat for more.")],
    subject: Annotated[str | None, typer.Option(help="Email subject.")] = None,
    body: Annotated[str | None, typer.Option(help="Email body.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send an invoice by email (with its PDF)."""
    recipients = [Recipient(name=email.partition("@")[0], email=email) for email in to]
    with connect() as client:
        message = client.invoices.messages.send(
            invoice_id, recipients=recipients, subject=subject, body=body
        )
    if as_json:
        print_json(message)
    else:
        typer.echo(f"sent invoice {invoice_id} to {', '.join(to)}")


@invoice_app.command("pdf")
@command
def pdf(
    invoice_id: Annotated[str, typer.Argument(metavar="ID")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    as_json: JsonFlag = False,
) -> None:
    """Download an invoice as a PDF."""
    with connect() as client:
        content = client.invoices.pdf(invoice_id)
    output.write_bytes(content)
    if as_json:
        print_json({"path": str(output), "bytes": len(content)})
    else:
        typer.echo(f"wrote {output}")
