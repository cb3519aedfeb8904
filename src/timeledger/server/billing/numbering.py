"""Invoice numbers: a per-account sequence rendered through the account's format.

The format (account setting `invoice_number_format`) is text with placeholders:
`{seq}` the sequence number, `{seq:04}` zero-padded to 4 digits (any width 1-12), and the
issue date's `{yyyy}`, `{yy}`, `{mm}`, `{dd}`. Example: `INV-{yyyy}{mm}-{seq:04}` ->
`INV-202606-0001`. `{seq}` is required once, so numbers stay unique; `{{` and `}}` are
literal braces.

The sequence itself is billing.service.next_seq (gapless; a deleted draft's number is not
reused)."""

from __future__ import annotations

import re
from datetime import date

DEFAULT_FORMAT = "{seq}"
MAX_LENGTH = 64
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z]+)(?::0?(\d{1,2}))?\}|[{}]")
_DATE_PARTS = {"yyyy": "%Y", "yy": "%y", "mm": "%m", "dd": "%d"}


def check_format(fmt: str) -> str:
    """The format itself, or ValueError saying what is wrong with it."""
    if not fmt or len(fmt) > MAX_LENGTH // 2:
        raise ValueError(f"must be 1 to {MAX_LENGTH // 2} characters")
    seqs = 0
    for match in _PLACEHOLDER.finditer(fmt):
        token, name, width = match.group(0), match.group(1), match.group(2)
        if token in ("{{", "}}"):
            continue
        if name is None:
            raise ValueError("has an unmatched brace; write {{ or }} for a literal one")
        if name == "seq":
            if width is not None and not 1 <= int(width) <= 12:
                raise ValueError("{seq:0N} takes a width from 1 to 12")
            seqs += 1
        elif name not in _DATE_PARTS or width is not None:
            raise ValueError(
                f"{{{name}}} is not a placeholder; use {{seq}}, {{seq:04}}, {{yyyy}}, "
                "{yy}, {mm} or {dd}"
            )
    if seqs != 1:
        raise ValueError("must contain {seq} exactly once, so every number is unique")
    return fmt


def render(fmt: str, seq: int, issue_date: date) -> str:
    def one(match: re.Match[str]) -> str:
        token, name, width = match.group(0), match.group(1), match.group(2)
        if token in ("{{", "}}"):
            return token[0]
        if name == "seq":
            return str(seq).zfill(int(width or 0))
        return issue_date.strftime(_DATE_PARTS[name])

    return _PLACEHOLDER.sub(one, fmt)
