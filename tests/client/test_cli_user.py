"""The `timeledger` commands for people, run through the installed console script against the
live server: what they print, and what the server then holds."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from clientkit import BIN, Account
from pypdf import PdfReader

from timeledger.client import NotFoundError


def utc_today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def cli(tmp_path: Path, account: Account):
    """Runs `timeledger ARGS`, logged in as the account's owner, with its own config dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMELEDGER_")}
    # TZ: the machine's day is the account's (UTC) day, as `ls` and `report` assume.
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path), COLUMNS="200", TZ="UTC"
    )

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "timeledger"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    login = run("login", "--base-url", account.url, "--api-key", account.token, "--json")
    assert json.loads(login.stdout)["user"]["id"] == account.user_id
    return run


def test_login_stores_url_and_key_readable_by_the_owner_only(cli, tmp_path, account):
    stored = tmp_path / "config" / "timeledger" / "config.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(stored.read_text())["api_key"] == account.token
    projects = json.loads(cli("projects", "--json").stdout)
    assert [(p["code"], p["name"]) for p in projects] == [("WEB", "Website")]
    assert "Website" in cli("projects").stdout
    assert json.loads(cli("clients", "--json").stdout) == []
    assert cli("status").stdout == "no timer running\n"


def test_start_status_stop_log_edit_rm(cli, account):
    started = cli("start", "web", "development", "-m", "Fix login")
    assert started.stdout.startswith("started Website / Development since ")
    with account.client() as client:
        running = client.timers.current()
        assert running is not None
        assert (running.source, running.notes) == ("cli", "Fix login")

        assert cli("status").stdout.startswith("running Website / Development since ")
        again = cli("start", "WEB", "Development", ok=False)
        assert (again.returncode, again.stdout) == (1, "")
        assert again.stderr == (
            "error: a timer is already running: `timeledger stop` it, or start with --replace\n"
        )
        stopped = cli("stop", "--json")
        assert json.loads(stopped.stdout)["id"] == running.id
        assert client.timers.current() is None

        logged = json.loads(
            cli("log", "Website", "Development", "--hours", "1:30", "--json").stdout
        )
        entry = client.time_entries.get(logged["id"])
        assert (entry.hours, entry.source, entry.spent_date) == (
            Decimal("1.5"),
            "cli",
            utc_today(),
        )

        listed = json.loads(cli("ls", "--json").stdout)
        assert {row["id"] for row in listed} == {running.id, entry.id}
        table = cli("ls").stdout
        assert entry.id in table and "1:30" in table and "total" in table

        edited = cli("edit", entry.id, "--hours", "2", "-m", "Reviewed")
        assert edited.stdout.startswith(f"updated {entry.id}: ")
        assert client.time_entries.get(entry.id).hours == Decimal(2)

        assert cli("rm", entry.id).stdout == f"deleted {entry.id}\n"
        with pytest.raises(NotFoundError):
            client.time_entries.get(entry.id)


def test_report_and_export(cli, account, tmp_path):
    today = utc_today()
    yesterday = today - timedelta(days=1)
    with account.client() as client:
        for day, hours in ((yesterday, "2"), (today, "0.5")):
            client.time_entries.create(
                project_id=account.project_id, task_id=account.task_id, spent_date=day, hours=hours
            )

    by_day = cli("report", "--from", str(yesterday - timedelta(days=1))).stdout
    chart = [line for line in by_day.splitlines() if "│" in line and "━" not in line]
    assert chart[-3:] == [
        f"{yesterday - timedelta(days=1)} │ 0:00",
        f"{yesterday} │{'█' * 40} 2:00",
        f"{today} │{'█' * 10} 0:30",
    ]
    assert "total" in by_day and "2:30" in by_day and "250" in by_day

    by_project = json.loads(cli("report", "--by", "project", "--json").stdout)
    assert [(r["name"], r["hours"]) for r in by_project["results"]] == [("Website", 2.5)]

    out = tmp_path / "entries.csv"
    exported = cli("export", "--format", "csv", "-o", str(out), "--from", str(yesterday))
    assert exported.stdout == f"wrote {out.stat().st_size} bytes to {out}\n"
    lines = out.read_text().splitlines()
    assert lines[0].startswith("id,spent_date") and len(lines) == 3


def test_errors_are_one_line_with_a_non_zero_exit(cli, tmp_path):
    unknown = cli("start", "Nope", "Development", ok=False)
    assert (unknown.returncode, unknown.stderr) == (1, "error: no project named 'Nope'\n")
    bad_hours = cli("log", "WEB", "Development", "--hours", "lots", ok=False)
    assert bad_hours.stderr == "error: hours 'lots' is not a number like 1.5 or 1:30\n"
    nothing = cli("stop", ok=False)
    assert (nothing.returncode, nothing.stderr) == (1, "error: no timer is running\n")

    (tmp_path / "config" / "timeledger" / "config.json").unlink()
    logged_out = cli("ls", ok=False)
    assert logged_out.returncode == 1
    assert logged_out.stderr == (
        "error: not logged in: run `timeledger login` or set TIMELEDGER_API_KEY\n"
    )


def test_invoice_create_send_pdf(cli, account, tmp_path):
    with account.client() as client:
        client.clients.create(name="Globex", currency="EUR")
    created = json.loads(
        cli(
            "invoice",
            "create",
            "--client",
            "Globex",
            "--line",
            "Code review:2:150.00",
            "--line",
            "Hosting:1:49.99",
            "--payment-term",
            "net_15",
            "--json",
        ).stdout
    )
    assert (Decimal(str(created["amount"])), created["state"]) == (Decimal("349.99"), "draft")
    assert created["due_date"] == str(date.fromisoformat(created["issue_date"]) + timedelta(15))

    sent = cli("invoice", "send", created["id"], "--to", "ap@globex.example")
    assert sent.stdout == f"sent invoice {created['id']} to ap@globex.example\n"
    with account.client() as client:
        assert client.invoices.get(created["id"]).state == "open"

    out = tmp_path / "invoice.pdf"
    assert cli("invoice", "pdf", created["id"], "-o", str(out)).stdout == f"wrote {out}\n"
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Globex" in text and "Code review" in text and "349.99" in text

    missing = cli(
        "invoice", "pdf", "0190d0a0-0000-7000-8000-000000000000", "-o", str(out), ok=False
    )
    assert (missing.returncode, missing.stderr.startswith("error: ")) == (1, True)
