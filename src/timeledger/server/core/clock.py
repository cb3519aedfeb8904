"""The one source of "now", so tests can move time without patching datetime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    return _now()


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Install a clock (tests) or restore the system clock (None)."""
    global _now
    _now = now or _system_now
