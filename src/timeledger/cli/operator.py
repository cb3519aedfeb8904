"""Operator commands: the CLI's translation onto the server's services (server extra)."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from timeledger.server import migrate as migrations
from timeledger.server.accounts import bootstrap, keys
from timeledger.server.accounts.models import ApiKey, User
from timeledger.server.accounts.schemas import AccountCreate, ApiKeyCreate
from timeledger.server.config import Settings, SettingsError
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.errors import DomainError
from timeledger.server.core.ids import parse_id
from timeledger.server.db import Database
from timeledger.server.worker.dispatcher import DEFAULT_CONCURRENCY, Dispatcher


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise _fail(str(exc)) from exc


@contextmanager
def _transaction(settings: Settings | None = None) -> Iterator[Session]:
    database = Database(settings or _settings())
    try:
        with database.transaction(write=True) as session:
            yield session
    except DomainError as exc:
        raise _fail(exc.message) from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(problems) from exc
    finally:
        database.dispose()


def apply_migrations(settings: Settings | None = None) -> str:
    database = Database(settings or _settings())
    try:
        migrations.upgrade(database.engine)
        return ", ".join(sorted(migrations.current_revisions(database.engine)))
    finally:
        database.dispose()


def _created(new: bootstrap.NewAccount) -> dict[str, Any]:
    return {"account_id": str(new.account.id), "user_id": str(new.owner.id), "api_key": new.token}


def init(*, account: str, email: str, timezone: str, currency: str) -> dict[str, Any]:
    settings = _settings()
    apply_migrations(settings)
    with _transaction(settings) as session:
        command = AccountCreate(
            name=account, timezone=timezone, currency=currency, plan=settings.default_plan
        )
        return _created(bootstrap.init_account(session, command, email))


def _owner_actor(session: Session, account_id: str, user_id: str | None) -> Actor:
    """The CLI acts with an owner's authority inside the named account."""
    account_uuid = parse_id(account_id)
    query = select(User).where(User.account_id == account_uuid)
    query = (
        query.where(User.id == parse_id(user_id))
        if user_id
        else query.where(User.role == "owner").order_by(User.id)
    )
    user = session.scalars(query.limit(1)).first() if account_uuid else None
    if user is None:
        raise DomainError(
            f"no account {account_id}"
            if not user_id
            else f"no user {user_id} in account {account_id}"
        )
    return Actor(account_id=user.account_id, user_id=user.id, role=Role.owner, surface="cli")


def create_key(*, account_id: str, user_id: str | None, name: str, scope: str) -> dict[str, Any]:
    with _transaction() as session:
        actor = _owner_actor(session, account_id, user_id)
        command = ApiKeyCreate(name=name, scope=scope, user_id=str(actor.user_id))
        minted = keys.create_key(session, actor, command)
        return {"id": str(minted.key.id), "api_key": minted.token, "scope": minted.key.scope}


def _key_row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": str(key.id),
        "name": key.name,
        "scope": key.scope,
        "prefix": f"tlk_{key.key_id}",
        "user_id": str(key.user_id),
        "user_email": key.user.email,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


def list_keys(*, account_id: str) -> list[dict[str, Any]]:
    with _transaction() as session:
        actor = _owner_actor(session, account_id, None)
        page = keys.list_keys(session, actor, page=1, per_page=2000)
        return [_key_row(key) for key in page.items]


def revoke_key(*, key_id: str) -> dict[str, Any]:
    with _transaction() as session:
        key = keys.find_key(session, key_id)
        if key is None:
            raise DomainError(f"no API key {key_id}")
        return _key_row(keys.revoke(session, None, key))


def serve(
    *,
    host: str | None,
    port: int | None,
    workers: int,
    migrate: bool,
    bootstrap: bool,
    as_json: bool,
) -> None:
    if host is not None:
        os.environ["TIMELEDGER_HOST"] = host
    if port is not None:
        os.environ["TIMELEDGER_PORT"] = str(port)
    settings = _settings()
    if migrate:
        apply_migrations(settings)
    if bootstrap:
        _bootstrap_if_empty(settings, as_json)
    url = f"http://{settings.host}:{settings.port}"
    listening = {"event": "listening", "url": url}
    app_factory = "timeledger.server.app:create_app"
    if workers > 1:
        _say(as_json, listening, f"timeledger listening on {url}")  # bound before forking
        uvicorn.run(
            app_factory,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level=settings.log_level,
        )
        return
    server = uvicorn.Server(
        uvicorn.Config(
            app_factory,
            factory=True,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
        )
    )

    def announce_when_started() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            _say(as_json, listening, f"timeledger listening on {url}")

    threading.Thread(target=announce_when_started, daemon=True).start()
    server.run()


def worker(*, concurrency: int | None, as_json: bool) -> None:
    """One webhook dispatcher in this process, until SIGTERM or SIGINT; the attempts in
    flight then finish and are recorded before it exits."""
    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    database = Database(settings)
    dispatcher = Dispatcher(database, settings, concurrency=concurrency or DEFAULT_CONCURRENCY)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    dispatcher.announce()
    pid = os.getpid()
    _say(as_json, {"event": "worker started", "pid": pid}, f"timeledger worker {pid} started")
    try:
        anyio.run(dispatcher.run, stop)
    finally:
        database.dispose()


def _say(as_json: bool, data: dict[str, Any], *lines: str) -> None:
    if as_json:
        typer.echo(json.dumps(data))
    else:
        for line in lines:
            typer.echo(line)


def _bootstrap_if_empty(settings: Settings, as_json: bool) -> None:
    with _transaction(settings) as session:
        if bootstrap.has_accounts(session):
            return
        command = AccountCreate(name="My company", plan=settings.default_plan)
        created = _created(bootstrap.init_account(session, command, "owner@timeledger.local"))
    _say(
        as_json,
        {"event": "bootstrapped", **created},
        f"API key (shown once): {created['api_key']}",
        f"Account id: {created['account_id']}",
    )
