"""Field types shared by the domain commands: bounded, validated, and named once."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from timeledger.server.core.money import AMOUNT_SCALE, MAX_AMOUNT

# Active ISO 4217 codes.
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
    """.split()  # noqa: SIM905 (a word list reads best as words)
)
_TIMEZONES = frozenset(available_timezones())
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _currency(value: str) -> str:
    code = value.upper()
    if code not in CURRENCIES:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code


def _timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone") from None
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


def _not_a_timestamp(value: Any) -> Any:
    """ISO 8601 only: pydantic would also read a number (even "0.0" in a query string) as
    seconds since 1970."""
    if isinstance(value, int | float | Decimal) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise ValueError("must be an ISO 8601 date and time, e.g. 2026-01-31T09:00:00Z")
    return value


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def trimmed(value: str) -> str:
    """Without surrounding whitespace, which is dropped only after the length limits were
    checked on the text as sent (so the OpenAPI document's minLength/maxLength are the
    truth: pydantic's strip_whitespace would strip first); blank text is refused."""
    stripped = value.strip()
    if value and not stripped:
        raise ValueError("must not be blank")
    return stripped


Name = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(trimmed)]
ShortText = Annotated[str, StringConstraints(max_length=255)]
LongText = Annotated[str, StringConstraints(max_length=5000)]
Phone = Annotated[str, StringConstraints(max_length=64)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency)]
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
Email = Annotated[
    str, StringConstraints(max_length=254), AfterValidator(trimmed), AfterValidator(_email)
]
Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, decimal_places=AMOUNT_SCALE)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=AMOUNT_SCALE)]
AwareDatetime = Annotated[datetime, BeforeValidator(_not_a_timestamp), AfterValidator(_aware)]


def omitted() -> Any:
    """Default of an update field that may be left out but not set to null: the field's type
    has no None, so an explicit null fails validation naming the field."""
    return Field(default=None)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Command(BaseModel):
    """A domain command: unknown fields are ignored (clients send extras), types are checked,
    and `model_fields_set` tells an update which fields were actually sent."""

    # Every string is bounded: the field's own limit, else the longest text field's.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_max_length=5000)

    @field_validator("*", mode="before")
    @classmethod
    def _flags_are_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic would read 0, 0.0, "no" or "off" as false; a client sending them is confused.
        if info.field_name is not None and not isinstance(value, bool | None):
            annotation = cls.model_fields[info.field_name].annotation
            if annotation is bool or set(get_args(annotation)) == {bool, type(None)}:
                raise ValueError("must be true or false")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text (nor \u0000 in JSONB); refuse it on both engines.
        if _has_nul(value):
            raise ValueError("must not contain NUL (\\u0000) characters")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)
