"""An account's settings, typed, with their defaults in one place. Stored as JSON on the
account row so a new setting needs no migration."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

from timeledger.server.accounts.models import Account


@dataclass(frozen=True)
class AccountSettings:
    allow_past_timer_starts: bool = False
    default_hourly_rate: Decimal | None = None
    overlapping_entries: str = "allow"  # allow | warn | forbid
    rounding_mode: str = "none"  # none | up | down | nearest
    rounding_increment: int = 1  # minutes: 1, 5, 6, 10, 15, 30
    auto_stop_after_hours: Decimal | None = None  # None: never
    invoice_number_format: str = "{seq}"  # billing/numbering.py

    @classmethod
    def of(cls, account: Account) -> AccountSettings:
        stored = account.settings or {}
        values: dict[str, Any] = {}
        for field in fields(cls):
            if stored.get(field.name) is None:
                continue
            raw = stored[field.name]
            values[field.name] = Decimal(raw) if "Decimal" in str(field.type) else raw
        return cls(**values)

    @property
    def auto_stop(self) -> timedelta | None:
        """How long a timer may run before it counts as stopped (whole seconds); None: ever."""
        hours = self.auto_stop_after_hours
        return None if hours is None else timedelta(seconds=int(hours * 3600))

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}


SETTING_NAMES = frozenset(field.name for field in fields(AccountSettings))
