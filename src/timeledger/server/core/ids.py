"""Time-ordered UUIDs (UUIDv7, RFC 9562) so new rows land at the end of their indexes."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    """A UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter that keeps ids minted in the
    same millisecond (by this process) ordered, then 62 random bits."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2)) & 0x3FF  # leave room to count up
        counter = _counter
    return _v7(ms, counter)


def id_at(instant: datetime) -> uuid.UUID:
    """The UUIDv7 of a row made at `instant` (an aware datetime): history written after the
    fact, such as a generated ledger, gets the ids its rows would have had. Ids of the same
    millisecond are ordered at random."""
    ms = (instant - _EPOCH) // timedelta(milliseconds=1)
    return _v7(ms, int.from_bytes(os.urandom(2)) & 0xFFF)


def _v7(ms: int, counter: int) -> uuid.UUID:
    rand = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)


def parse_id(raw: str) -> uuid.UUID | None:
    """The UUID a client sent, or None when it is not one (callers answer 404, not 400:
    an id that cannot exist is simply not found)."""
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None
