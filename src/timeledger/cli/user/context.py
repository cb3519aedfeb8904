"""What every user command shares: the stored login, the SDK client built from it, output as
text or `--json`, and errors as one line with a non-zero exit code."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from timeledger.client import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    AuthenticationError,
    Timeledger,
    TimeledgerError,
    encode_json,
)

P = ParamSpec("P")
T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
console = Console()
CONFIG_FILE = "config.json"


# --- the stored login -----------------------------------------------------------------------


def config_path() -> Path:
    """<user config dir>/timeledger/config.json (XDG_CONFIG_HOME on Linux)."""
    return Path(typer.get_app_dir("timeledger")) / CONFIG_FILE


def load_login() -> dict[str, str]:
    try:
        stored = json.loads(config_path().read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {config_path()}: {exc}") from exc
    return {key: str(value) for key, value in stored.items() if value}


def save_login(login: Mapping[str, str]) -> Path:
    """Write the login readable by its owner only (0600): it holds an API key."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(dict(login), file, indent=2)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    return path


@dataclass(frozen=True)
class Credentials:
    api_key: str
    base_url: str
    account_id: str | None


def credentials() -> Credentials:
    """TIMELEDGER_API_KEY / TIMELEDGER_BASE_URL, else the stored login."""
    login = load_login()
    api_key = os.environ.get(API_KEY_ENV) or login.get("api_key")
    if not api_key:
        raise UserError(f"not logged in: run `timeledger login` or set {API_KEY_ENV}")
    base_url = os.environ.get(BASE_URL_ENV) or login.get("base_url") or DEFAULT_BASE_URL
    # The stored account goes with the stored key only.
    account_id = login.get("account_id") if api_key == login.get("api_key") else None
    return Credentials(api_key, base_url, account_id)


def connect() -> Timeledger:
    given = credentials()
    return Timeledger(api_key=given.api_key, base_url=given.base_url, account_id=given.account_id)


# --- errors ---------------------------------------------------------------------------------


class UserError(Exception):
    """A mistake the user can fix, said in one line."""


def _one_line(exc: Exception) -> str:
    if isinstance(exc, TimeledgerError):
        text = exc.description
        if isinstance(exc, AuthenticationError):
            text += " (run `timeledger login` with a valid key)"
    else:
        text = str(exc)
    return " ".join(text.split())


def command(function: Callable[P, T]) -> Callable[P, T]:
    """A user command: SDK and user errors end it with one line on stderr and exit code 1."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        except (TimeledgerError, UserError) as exc:
            typer.echo(f"error: {_one_line(exc)}", err=True)
            raise typer.Exit(1) from None

    return run


# --- output ---------------------------------------------------------------------------------


def print_json(data: Any) -> None:
    typer.echo(encode_json(data).decode())


# --- parsing and formatting -----------------------------------------------------------------

_CLOCK = re.compile(r"^(\d+):([0-5]\d)$")


def parse_hours(text: str) -> Decimal:
    """1.5, 1,5 or 1:30."""
    clock = _CLOCK.match(text.strip())
    if clock:
        return Decimal(clock.group(1)) + Decimal(clock.group(2)) / 60
    try:
        hours = Decimal(text.strip().replace(",", "."))
    except ArithmeticError:
        raise UserError(f"hours {text!r} is not a number like 1.5 or 1:30") from None
    if not hours.is_finite() or hours < 0:
        raise UserError(f"hours {text!r} is not a number like 1.5 or 1:30")
    return hours


def parse_day(text: str | None) -> date | None:
    """YYYY-MM-DD, `today` or `yesterday`."""
    if text is None:
        return None
    words = {"today": 0, "yesterday": 1}
    if text.lower() in words:
        return date.today() - timedelta(days=words[text.lower()])
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{text!r} is not a date (YYYY-MM-DD, today or yesterday)") from None


def clock(hours: Decimal) -> str:
    """Hours as H:MM."""
    minutes = int((hours * 60).to_integral_value())
    return f"{minutes // 60}:{minutes % 60:02d}"


def elapsed(hours: Decimal) -> str:
    """Hours as H:MM:SS."""
    seconds = int((hours * 3600).to_integral_value())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def name_of(ref: Any) -> str:
    """The name of a nested {id, name}, else its id."""
    if ref is None:
        return "-"
    return str(getattr(ref, "name", None) or getattr(ref, "id", "-"))
