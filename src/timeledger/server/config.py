"""Every server setting, read from TIMELEDGER_* environment variables in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

SQLITE_SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
PLANS = ("free", "standard", "pro", "enterprise")


class SettingsError(ValueError):
    """A TIMELEDGER_* variable has a value the server cannot use."""


def _env_int(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _at_least_one(environ: dict[str, str], name: str, default: int) -> int:
    value = _env_int(environ, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be 1 or more, got {value}")
    return value


def _env_float(environ: dict[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _positive(environ: dict[str, str], name: str, default: float) -> float:
    value = _env_float(environ, name, default)
    if value <= 0:
        raise SettingsError(f"{name} must be greater than 0, got {value}")
    return value


def _env_flag(environ: dict[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")


@dataclass(frozen=True)
class SmtpServer:
    """Where invoice emails go, read from TIMELEDGER_SMTP_URL."""

    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://[user:pass@]host[:port]` (port 25; `?starttls=true` upgrades the connection,
    usually on port 587) or `smtps://...` (TLS from the first byte, port 465). User and
    password are percent-decoded, so `%40` stands for an `@` inside them."""
    name = "TIMELEDGER_SMTP_URL"
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SettingsError(f"{name} must look like smtp://[user:pass@]host[:port], got {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"{name} has a port that is not between 1 and 65535") from None
    starttls = parse_qs(parts.query).get("starttls", ["false"])[-1].lower()
    if starttls not in ("true", "false", "1", "0"):
        raise SettingsError(f"{name}: starttls must be true or false, got {starttls!r}")
    if parts.scheme == "smtps":
        security: Literal["none", "starttls", "tls"] = "tls"
    else:
        security = "starttls" if starttls in ("true", "1") else "none"
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if security == "tls" else 25),
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".timeledger")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    sqlite_synchronous: str = "NORMAL"
    # SQLite's page caches, all connections together (MiB); the OS caches the file anyway.
    # 8, not 32: the benchmark's reports and export over a million entries ran as fast
    # (what they read outgrows either cache), and a server at 64 clients held 30 MiB less.
    sqlite_cache_mib: int = 8
    default_plan: str = "pro"
    # Requests handled at once; also the size of the connection pool, so a request that was
    # admitted never waits for a connection.
    max_concurrency: int = 64
    # Synchronous handlers running at once (surfaces/http.py): more would only take turns
    # on the GIL, each paying for the switches.
    handler_threads: int = 8
    # Seconds between runs of the in-process background jobs (forgotten timers); 0: off.
    background_interval: float = 30.0
    # Webhooks. `serve` runs a dispatcher in-process unless told to leave delivery to
    # `timeledger worker` processes; idle dispatchers poll the outbox this often (seconds);
    # a claimed delivery is reserved this long, so a crashed worker's work is retried after it.
    webhooks_in_process: bool = True
    webhooks_poll_interval: float = 0.5
    webhooks_lease: float = 30.0
    # For development and tests only: allow http:// targets, and private/loopback addresses.
    webhooks_allow_http: bool = False
    webhooks_allow_private: bool = False
    # Where expense receipts are kept; None: <data_dir>/receipts.
    receipts_dir: Path | None = None
    # Rate-limit counters: in this process when empty; in Redis (shared by every server
    # process) when set, under keys starting with the prefix.
    redis_url: str = ""
    redis_prefix: str = "timeledger:"
    # Invoice emails (POST /api/v2/invoices/{id}/messages). Unset: messages are recorded and
    # invoices marked sent, but nothing is mailed. See parse_smtp_url for the URL's forms.
    smtp_url: str = ""
    # The From address of invoice emails ("Name <address>" works too).
    smtp_from: str = "timeledger@localhost"
    # Seconds one email may take, connection to last reply; past it the send fails (502).
    smtp_timeout: float = 10.0

    @property
    def effective_receipts_dir(self) -> Path:
        return self.receipts_dir or self.data_dir / "receipts"

    @property
    def smtp(self) -> SmtpServer | None:
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'timeledger.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        synchronous = env.get("TIMELEDGER_SQLITE_SYNCHRONOUS", "NORMAL").upper()
        if synchronous not in SQLITE_SYNCHRONOUS_MODES:
            raise SettingsError(
                "TIMELEDGER_SQLITE_SYNCHRONOUS must be one of "
                f"{', '.join(SQLITE_SYNCHRONOUS_MODES)}, got {synchronous!r}"
            )
        plan = env.get("TIMELEDGER_DEFAULT_PLAN", "pro").lower()
        if plan not in PLANS:
            raise SettingsError(f"TIMELEDGER_DEFAULT_PLAN must be one of {', '.join(PLANS)}")
        url = env.get("TIMELEDGER_DATABASE_URL", "")
        # Accept the libpq-style URL people paste and route it to psycopg 3.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix) :]
        cache_mib = _at_least_one(env, "TIMELEDGER_SQLITE_CACHE_MIB", cls.sqlite_cache_mib)
        handler_threads = _at_least_one(env, "TIMELEDGER_HANDLER_THREADS", 8)
        port = _env_int(env, "TIMELEDGER_PORT", 8000)
        if not 0 < port < 65536:
            raise SettingsError(f"TIMELEDGER_PORT must be between 1 and 65535, got {port}")
        return cls(
            data_dir=Path(env.get("TIMELEDGER_DATA_DIR", ".timeledger")),
            database_url=url,
            host=env.get("TIMELEDGER_HOST", "127.0.0.1"),
            port=port,
            log_level=env.get("TIMELEDGER_LOG_LEVEL", "info").lower(),
            sqlite_synchronous=synchronous,
            sqlite_cache_mib=cache_mib,
            default_plan=plan,
            max_concurrency=_at_least_one(env, "TIMELEDGER_MAX_CONCURRENCY", 64),
            handler_threads=handler_threads,
            background_interval=_env_int(env, "TIMELEDGER_BACKGROUND_INTERVAL", 30),
            webhooks_in_process=_env_flag(env, "TIMELEDGER_WEBHOOKS_IN_PROCESS", True),
            webhooks_poll_interval=_positive(env, "TIMELEDGER_WEBHOOKS_POLL_INTERVAL", 0.5),
            webhooks_lease=_positive(env, "TIMELEDGER_WEBHOOKS_LEASE", 30.0),
            webhooks_allow_http=_env_flag(env, "TIMELEDGER_WEBHOOKS_ALLOW_HTTP", False),
            webhooks_allow_private=_env_flag(env, "TIMELEDGER_WEBHOOKS_ALLOW_PRIVATE", False),
            receipts_dir=Path(env["TIMELEDGER_RECEIPTS_DIR"])
            if env.get("TIMELEDGER_RECEIPTS_DIR")
            else None,
            redis_url=env.get("TIMELEDGER_REDIS_URL", ""),
            redis_prefix=env.get("TIMELEDGER_REDIS_PREFIX", "timeledger:"),
            smtp_url=_smtp_url(env),
            smtp_from=env.get("TIMELEDGER_SMTP_FROM") or "timeledger@localhost",
            smtp_timeout=_positive(env, "TIMELEDGER_SMTP_TIMEOUT", 10.0),
        )


def _smtp_url(environ: dict[str, str]) -> str:
    """TIMELEDGER_SMTP_URL, checked at startup so a typo fails there, not at the first send."""
    url = environ.get("TIMELEDGER_SMTP_URL", "").strip()
    if url:
        parse_smtp_url(url)
    return url
