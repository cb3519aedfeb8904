"""Receipts: one file per expense, an image or a PDF of at most 10 MB, kept in a directory
(by default `<data dir>/receipts`, one sub-directory per account).

The type is read from the file's first bytes, never from its name or the client's
Content-Type: a renamed executable is refused. A file is written under a fresh random name
before the row points at it, so a failed request leaves no row pointing at a missing file;
a file the row no longer points at is removed only after the change committed (core/hooks)."""

from __future__ import annotations

import os
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from timeledger.server.audit import trail
from timeledger.server.core.actor import Actor
from timeledger.server.core.errors import DomainError, NotFound, ValidationFailed
from timeledger.server.core.hooks import after_commit, after_rollback
from timeledger.server.expenses import service
from timeledger.server.expenses.models import Expense
from timeledger.server.expenses.service import (
    ExpenseView,
    find_expense,
    get_expense,
    payload,
)
from timeledger.server.outbox.service import emit
from timeledger.server.tracking.service import ensure_unlocked

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}/[0-9a-f]{32}$")


class ReceiptTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedReceipt(DomainError):
    status = 415
    code = "unsupported_media_type"


def sniff(head: bytes) -> str | None:
    """The content type of a receipt from its first bytes, or None when it is not one of
    the accepted kinds (PDF, PNG, JPEG, GIF, WebP, HEIC/HEIF)."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1"):
        return "image/heic"
    return None


def clean_name(raw: str | None, content_type: str) -> str:
    """The client's file name for display: its last path part, printable, at most 255."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|').strip()
    if not name:
        name = "receipt." + content_type.rsplit("/", 1)[-1]
    return name[:255]


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True)
class Receipt:
    """An open receipt file to send back; the caller closes `file`."""

    file: BinaryIO
    name: str
    content_type: str
    size: int


class ReceiptStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):  # keys are ours; anything else is a corrupted row
            raise ValueError(f"not a receipt key: {key!r}")
        return self.root / key

    def save(self, account_id: uuid.UUID, source: BinaryIO) -> Stored:
        """Copy an upload into the store, checking its kind and size as it streams."""
        head = source.read(16)
        if not head:
            raise ValidationFailed("receipt: the file is empty", field="receipt")
        content_type = sniff(head)
        if content_type is None:
            raise UnsupportedReceipt(
                "receipt must be an image (PNG, JPEG, GIF, WebP, HEIC) or a PDF; its content "
                "is neither, whatever its name says",
                field="receipt",
            )
        key = f"{account_id.hex}/{secrets.token_hex(16)}"
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        size = 0
        try:
            with partial.open("wb") as out:
                chunk = head
                while chunk:
                    size += len(chunk)
                    if size > MAX_RECEIPT_BYTES:
                        raise ReceiptTooLarge(
                            f"receipt is larger than {MAX_RECEIPT_BYTES // (1024 * 1024)} MB",
                            field="receipt",
                        )
                    out.write(chunk)
                    chunk = source.read(CHUNK)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return Stored(key=key, size=size, content_type=content_type)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise NotFound("receipt") from None

    def remove(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def remove_after_commit(self, session: Session, key: str | None) -> None:
        if key is not None:
            after_commit(session, lambda: self.remove(key))


def attach(
    session: Session,
    actor: Actor,
    store: ReceiptStore,
    expense_id: str,
    file_name: str | None,
    source: BinaryIO,
) -> ExpenseView:
    """Store a receipt for an expense, replacing any earlier one."""
    expense = find_expense(session, actor, expense_id)
    ensure_unlocked(expense, "expense")
    before = payload(expense)
    stored = store.save(actor.account_id, source)
    after_rollback(session, lambda: store.remove(stored.key))
    store.remove_after_commit(session, expense.receipt_key)
    expense.receipt_key = stored.key
    expense.receipt_file_name = clean_name(file_name, stored.content_type)
    expense.receipt_content_type = stored.content_type
    expense.receipt_size = stored.size
    _announce(session, actor, expense, before)
    return get_expense(session, actor, expense_id)


def _announce(session: Session, actor: Actor, expense: Expense, before: dict[str, Any]) -> None:
    """The receipt of an expense changed: the event and the audit record."""
    session.flush()
    after = payload(expense)
    changed = ["receipt_content_type", "receipt_file_name", "receipt_size"]
    emit(session, actor.account_id, "expense.updated", {**after, "changed_fields": changed})
    trail.record(session, actor, "expense.updated", expense, before, after)


def open_receipt(session: Session, actor: Actor, store: ReceiptStore, expense_id: str) -> Receipt:
    expense = find_expense(session, actor, expense_id)
    if expense.receipt_key is None:
        raise NotFound("receipt")
    return Receipt(
        file=store.open(expense.receipt_key),
        name=expense.receipt_file_name or "receipt",
        content_type=expense.receipt_content_type or "application/octet-stream",
        size=expense.receipt_size or 0,
    )


def detach(session: Session, actor: Actor, store: ReceiptStore, expense_id: str) -> ExpenseView:
    expense = find_expense(session, actor, expense_id)
    ensure_unlocked(expense, "expense")
    if expense.receipt_key is None:
        raise NotFound("receipt")
    before = payload(expense)
    store.remove_after_commit(session, expense.receipt_key)
    expense.receipt_key = None
    expense.receipt_file_name = expense.receipt_content_type = None
    expense.receipt_size = None
    _announce(session, actor, expense, before)
    return get_expense(session, actor, expense_id)


def delete_expense(session: Session, actor: Actor, store: ReceiptStore, expense_id: str) -> None:
    """Delete an expense; its receipt file goes once the deletion committed."""
    expense = service.delete_expense(session, actor, expense_id)
    store.remove_after_commit(session, expense.receipt_key)
