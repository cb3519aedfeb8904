"""Plans and what they allow: requests per hour for each API key (ClockEye's table)."""

from __future__ import annotations

from timeledger.server.accounts.models import Account

# None: unlimited.
HOURLY_REQUESTS: dict[str, int | None] = {
    "free": 100,
    "standard": 1_000,
    "pro": 5_000,
    "enterprise": None,
}


def hourly_request_limit(account: Account) -> int | None:
    """Requests each of the account's keys may make per hour: its own override (set by an
    operator), else its plan's."""
    if account.rate_limit_per_hour is not None:
        return account.rate_limit_per_hour
    return HOURLY_REQUESTS.get(account.plan, HOURLY_REQUESTS["free"])
