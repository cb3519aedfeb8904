"""The `timeledger` commands for people at a terminal (and scripts, with --json). They talk
to a server through the SDK and need no server code: `timeledger login`, then start, stop,
status, log, ls, edit, rm, report, export, projects, clients, invoice; `timeledger mcp`
serves the same to AI agents."""

from __future__ import annotations

import typer

from timeledger.cli.user import account, reporting, timesheet
from timeledger.cli.user.context import command
from timeledger.cli.user.invoicing import invoice_app


@command
def mcp() -> None:
    """Serve timeledger's tools to an AI agent over stdio (Model Context Protocol).

    Configured by TIMELEDGER_API_KEY and TIMELEDGER_BASE_URL, else the stored login.
    """
    try:
        from timeledger.mcp.server import serve  # the mcp extra is optional
    except ImportError as exc:
        typer.echo(
            f"error: this command needs the mcp extra: pip install 'timeledger[mcp]' "
            f"({exc.name} is missing)",
            err=True,
        )
        raise typer.Exit(2) from exc
    serve()


def register(app: typer.Typer) -> None:
    for function in (
        account.login,
        timesheet.start,
        timesheet.stop,
        timesheet.status,
        timesheet.log,
        timesheet.ls,
        timesheet.edit,
        timesheet.rm,
        reporting.report,
        reporting.export,
        account.projects,
        account.clients,
        mcp,
    ):
        app.command()(function)
    app.add_typer(invoice_app, name="invoice")


__all__ = ["register"]
