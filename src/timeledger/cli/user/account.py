"""`login`, and the catalogue a person picks from: `projects`, `clients`."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from timeledger.cli.user.context import (
    JsonFlag,
    command,
    connect,
    console,
    load_login,
    name_of,
    print_json,
    save_login,
)
from timeledger.client import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, Timeledger


@command
def login(
    base_url: Annotated[
        str | None, typer.Option(help=f"The server (default: {DEFAULT_BASE_URL}).")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help=f"An API key (asked for when not given, or {API_KEY_ENV}).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check an API key against a server and remember both for the other commands.

    They are stored in your config directory, readable by you only (mode 0600).
    """
    stored = load_login()
    url = base_url or os.environ.get(BASE_URL_ENV) or stored.get("base_url") or DEFAULT_BASE_URL
    key = api_key or os.environ.get(API_KEY_ENV) or typer.prompt("API key", hide_input=True)
    with Timeledger(api_key=key, base_url=url) as client:
        me = client.users.me()
    account_id = me.company.id if me.company else ""
    path = save_login({"base_url": client.base_url, "api_key": key, "account_id": account_id})
    if as_json:
        print_json({"base_url": client.base_url, "config": str(path), "user": me})
    else:
        company = name_of(me.company)
        typer.echo(f"logged in to {client.base_url} as {me.email} ({company}); saved to {path}")


@command
def projects(
    archived: Annotated[bool, typer.Option("--archived", help="Archived ones too.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List projects (name them by code or name in start, log, ls)."""
    with connect() as client:
        rows = list(client.projects.list(is_active=None if archived else True, per_page=500))
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    table = Table("code", "name", "client", "active", "id")
    for row in rows:
        active = "yes" if row.is_active else "no"
        table.add_row(row.code or "", row.name, name_of(row.client), active, row.id)
    console.print(table)


@command
def clients(
    archived: Annotated[bool, typer.Option("--archived", help="Archived ones too.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List clients."""
    with connect() as client:
        rows = list(client.clients.list(is_active=None if archived else True, per_page=500))
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    table = Table("name", "currency", "active", "id")
    for row in rows:
        table.add_row(row.name, row.currency or "", "yes" if row.is_active else "no", row.id)
    console.print(table)
