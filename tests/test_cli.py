"""The operator commands, run as a user runs them, against the test database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import httpx
import pytest
from typer.testing import CliRunner

from timeledger.cli.main import app as cli
from timeledger.server.accounts.bootstrap import has_accounts

runner = CliRunner()


@pytest.fixture
def cli_env(db, monkeypatch):
    monkeypatch.setenv("TIMELEDGER_DATABASE_URL", db.url)
    return db


def run(*args: str) -> dict | list:
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_init_creates_a_working_write_key(cli_env, http):
    created = run(
        "init",
        "--account",
        "Initech",
        "--email",
        "Boss@Initech.example",
        "--timezone",
        "Europe/Berlin",
        "--currency",
        "eur",
    )
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    me = http.get("/api/v2/users/me", headers=headers).json()
    assert me["id"] == created["user_id"]
    assert me["email"] == "boss@initech.example"
    assert me["role"] == "owner"
    company = http.get("/api/v2/company", headers=headers).json()
    assert (company["id"], company["timezone"], company["currency"]) == (
        created["account_id"],
        "Europe/Berlin",
        "EUR",
    )
    assert http.post("/api/v2/clients", json={"name": "Acme"}, headers=headers).status_code == 201


def test_init_gives_the_account_the_default_plan(cli_env, http, monkeypatch):
    monkeypatch.setenv("TIMELEDGER_DEFAULT_PLAN", "free")
    created = run("init", "--account", "Initech", "--email", "boss@initech.example")
    response = http.get(
        "/api/v2/users/me", headers={"Authorization": f"Bearer {created['api_key']}"}
    )
    assert response.headers["x-ratelimit-limit"] == "100"  # the free plan's hourly quota


def test_init_rejects_bad_input_and_writes_nothing(cli_env, http):
    result = runner.invoke(
        cli, ["init", "--account", "X", "--email", "a@b.co", "--timezone", "Mars/Olympus"]
    )
    assert result.exit_code == 1
    assert "timezone" in result.output and "IANA" in result.output
    with cli_env.transaction(write=False) as session:
        assert not has_accounts(session)


def test_keys_create_list_revoke(cli_env, tenant, http):
    read = run(
        "keys",
        "create",
        "--account-id",
        tenant.account_id,
        "--name",
        "reporting",
        "--scope",
        "read",
    )
    headers = {"X-API-Key": read["api_key"]}
    assert http.get("/api/v2/projects", headers=headers).status_code == 200
    assert http.post("/api/v2/projects", json={"name": "P"}, headers=headers).status_code == 403

    listed = run("keys", "list", "--account-id", tenant.account_id)
    by_id = {row["id"]: row for row in listed}
    assert by_id[read["id"]]["scope"] == "read"
    assert by_id[read["id"]]["last_used_at"] is not None
    assert all("api_key" not in row and "secret_hash" not in row for row in listed)

    revoked = run("keys", "revoke", read["id"])
    assert revoked["revoked_at"] is not None
    assert http.get("/api/v2/projects", headers=headers).status_code == 401


def test_keys_create_for_unknown_account_fails(cli_env):
    result = runner.invoke(cli, ["keys", "create", "--account-id", "nope", "--name", "x"])
    assert result.exit_code == 1
    assert "no account nope" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_bootstraps_an_empty_database_and_listens(db):
    """What `make run` does: migrate, create a first account and key, serve on 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "TIMELEDGER_DATABASE_URL": db.url, "TIMELEDGER_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "timeledger.cli.main", "serve", "--bootstrap", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(3)]
        assert lines[2] == f"timeledger listening on http://127.0.0.1:{port}"
        token = lines[0].removeprefix("API key (shown once): ")
        account_id = lines[1].removeprefix("Account id: ")
        assert token.startswith("tlk_") and len(token) > 40
        response = httpx.get(
            f"http://127.0.0.1:{port}/api/v2/users/me",
            headers={"Authorization": f"Bearer {token}", "Keito-Account-Id": account_id},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["company"]["id"] == account_id
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_serve_does_not_bootstrap_twice(db, tenant):
    port = _free_port()
    env = {**os.environ, "TIMELEDGER_DATABASE_URL": db.url, "TIMELEDGER_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "timeledger.cli.main", "serve", "--bootstrap", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = process.stdout.readline().strip()
        assert first == f"timeledger listening on http://127.0.0.1:{port}"
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json() == {
            "status": "ready",
            "database": "ok",
        }
    finally:
        process.terminate()
        process.wait(timeout=15)
