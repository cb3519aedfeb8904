"""How a delivery proves it came from us: one signing scheme per subscription.

- standard: Standard Webhooks (our own subscriptions). `webhook-signature: v1,<base64>` of
  HMAC-SHA256 over "<id>.<timestamp>.<body>", keyed with the bytes behind the `whsec_`
  secret; one signature per live secret, space-separated.
- temporalist: Temporal.ist's Stripe-style `X-Temporalist-Signature: t=<ts>,v1=<hex>` of
  HMAC-SHA256 over "<ts>.<body>", keyed with the secret's text; one v1 per live secret.
- clockeye: ClockEye's `X-ClockEye-Signature: sha256=<hex>` of HMAC-SHA256 over the body. Its
  receivers compare the whole header, so it carries one signature: the current secret's.

Secrets are passed newest first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

STANDARD_PREFIX = "whsec_"

Headers = dict[str, str]


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _standard_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(STANDARD_PREFIX))


def _standard(keys: Sequence[str], message_id: str, timestamp: int, body: bytes) -> Headers:
    signed = f"{message_id}.{timestamp}.".encode() + body
    signatures = " ".join(
        "v1," + base64.b64encode(_hmac(_standard_key(key), signed)).decode() for key in keys
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def _temporalist(keys: Sequence[str], message_id: str, timestamp: int, body: bytes) -> Headers:
    signed = f"{timestamp}.".encode() + body
    values = ",".join(f"v1={_hmac(key.encode(), signed).hex()}" for key in keys)
    return {
        "X-Temporalist-Delivery": message_id,
        "X-Temporalist-Signature": f"t={timestamp},{values}",
    }


def _clockeye(keys: Sequence[str], message_id: str, timestamp: int, body: bytes) -> Headers:
    return {"X-ClockEye-Signature": f"sha256={_hmac(keys[0].encode(), body).hex()}"}


@dataclass(frozen=True)
class Scheme:
    new_secret: Callable[[], str]
    headers: Callable[[Sequence[str], str, int, bytes], Headers]
    # How the product's own deliveries introduce themselves, if receivers look for it.
    user_agent: str | None = None
    event_header: str | None = None


SCHEMES: dict[str, Scheme] = {
    "standard": Scheme(
        new_secret=lambda: STANDARD_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode(),
        headers=_standard,
    ),
    "temporalist": Scheme(
        new_secret=lambda: secrets.token_hex(32),
        headers=_temporalist,
        user_agent="Temporalist-Webhook/1.0",
        event_header="X-Temporalist-Event",
    ),
    "clockeye": Scheme(new_secret=lambda: secrets.token_hex(32), headers=_clockeye),
}


def new_secret(scheme: str) -> str:
    """A fresh signing secret in the scheme's format, from 32 random bytes."""
    return SCHEMES[scheme].new_secret()


def announce(scheme: str, event_type: str) -> Headers:
    """The scheme's User-Agent and event-name header, where it has them."""
    spec = SCHEMES[scheme]
    headers: Headers = {}
    if spec.user_agent is not None:
        headers["User-Agent"] = spec.user_agent
    if spec.event_header is not None:
        headers[spec.event_header] = event_type
    return headers


def sign(scheme: str, keys: Sequence[str], message_id: str, timestamp: int, body: bytes) -> Headers:
    """The headers that carry the delivery's id, time and signature(s)."""
    return SCHEMES[scheme].headers(keys, message_id, timestamp, body)
