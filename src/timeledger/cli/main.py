"""The `timeledger` command. Operator commands (serve, migrate, init, keys) need the server
extra; they load it only when run, so the client-only install still has a working command."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from timeledger.cli import user

app = typer.Typer(
    help="timeledger: a ledger of billable work for people and AI agents.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
user.register(app)  # commands for people and agents (the SDK; no server code)

console = Console()
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _operator() -> Any:
    try:
        from timeledger.cli import operator  # the server extra is optional
    except ImportError as exc:
        console.print(
            f"[red]This command needs the server: pip install 'timeledger[server]' "
            f"({exc.name} is missing)[/red]"
        )
        raise typer.Exit(2) from exc
    return operator


def emit(as_json: bool, data: dict[str, Any], lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, default=str))
    else:
        for line in lines:
            typer.echo(line)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (TIMELEDGER_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (TIMELEDGER_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply migrations first.")] = True,
    bootstrap: Annotated[
        bool,
        typer.Option(help="On an empty database, create a first account, owner and write key."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Serve the API (migrating the database first unless --no-migrate)."""
    _operator().serve(
        host=host, port=port, workers=workers, migrate=migrate, bootstrap=bootstrap, as_json=as_json
    )


@app.command("migrate")
def migrate_command(as_json: JsonFlag = False) -> None:
    """Apply every pending migration (Alembic upgrade head)."""
    revision = _operator().apply_migrations()
    emit(as_json, {"revision": revision}, [f"database at revision {revision}"])


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Deliveries in flight at once [64].")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Deliver webhooks until stopped (SIGTERM, Ctrl-C); run as many workers as needed."""
    _operator().worker(concurrency=concurrency, as_json=as_json)


@app.command()
def init(
    account: Annotated[str, typer.Option(help="Account (company) name.")],
    email: Annotated[str, typer.Option(help="The owner's email.")],
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "USD",
    as_json: JsonFlag = False,
) -> None:
    """Create an account with its owner and a write-scoped API key (shown once)."""
    created = _operator().init(account=account, email=email, timezone=timezone, currency=currency)
    emit(
        as_json,
        created,
        [
            f"API key (shown once): {created['api_key']}",
            f"Account id: {created['account_id']}",
            f"Owner user id: {created['user_id']}",
        ],
    )


@keys_app.command("create")
def keys_create(
    account_id: Annotated[str, typer.Option(help="The account the key belongs to.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    scope: Annotated[str, typer.Option(help="read or write.")] = "read",
    user_id: Annotated[
        str | None,
        typer.Option(help="The user the key acts as (default: the account's first owner)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key; its token is printed once."""
    created = _operator().create_key(account_id=account_id, user_id=user_id, name=name, scope=scope)
    emit(
        as_json,
        created,
        [f"API key (shown once): {created['api_key']}", f"Key id: {created['id']}"],
    )


@keys_app.command("list")
def keys_list(
    account_id: Annotated[str, typer.Option(help="The account whose keys to list.")],
    as_json: JsonFlag = False,
) -> None:
    """List an account's API keys (never their secrets)."""
    rows = _operator().list_keys(account_id=account_id)
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    table = Table("id", "name", "scope", "prefix", "user", "last used", "revoked")
    for row in rows:
        table.add_row(
            row["id"],
            row["name"],
            row["scope"],
            row["prefix"],
            row["user_email"],
            str(row["last_used_at"] or "-"),
            str(row["revoked_at"] or "-"),
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str, as_json: JsonFlag = False) -> None:
    """Revoke an API key; it stops working on the next request."""
    revoked = _operator().revoke_key(key_id=key_id)
    emit(as_json, revoked, [f"revoked {revoked['id']} ({revoked['name']})"])


if __name__ == "__main__":
    app()
