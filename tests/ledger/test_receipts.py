"""Receipts: multipart upload, checked by content, streamed back to the account, removed with
the expense; nothing is left behind by a refused upload."""

from __future__ import annotations

import pytest

from callkit import V2, assert_error, ok, post
from timeledger.server.expenses.receipts import MAX_RECEIPT_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"x" * 300
JPEG = b"\xff\xd8\xff\xe0" + b"j" * 100
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 100
EXE = b"MZ\x90\x00" + b"\x00" * 100


def files(receipts_dir):
    return (
        sorted(p for p in receipts_dir.rglob("*") if p.is_file()) if receipts_dir.exists() else []
    )


@pytest.fixture
def expense(api, book):
    return post(api, "expenses", **book.expense(spent_date="2026-03-02", total_cost=12))


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("taxi.png", PNG, "image/png"),
        ("hotel.PDF", PDF, "application/pdf"),
        ("scan", JPEG, "image/jpeg"),
    ],
)
def test_upload_download_replace_remove(api, expense, receipts_dir, name, content, content_type):
    url = f"{V2}/expenses/{expense['id']}/receipt"
    # the declared type is ignored: the content decides
    attached = ok(api.post(url, files={"receipt": (name, content, "text/plain")}))
    assert (attached["receipt_file_name"], attached["receipt_content_type"]) == (name, content_type)
    assert (attached["receipt_size"], attached["receipt_url"]) == (len(content), url)
    got = api.get(url)
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["content-type"].startswith(content_type)
    assert got.headers["x-content-type-options"] == "nosniff"
    [first] = files(receipts_dir)
    ok(api.post(url, files={"receipt": ("again.pdf", PDF)}))
    [second] = files(receipts_dir)  # the replaced file is gone once the change committed
    assert second != first
    cleared = ok(api.delete(url))
    assert cleared["receipt_url"] is None
    assert files(receipts_dir) == []
    assert_error(api.get(url), 404, "receipt")


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (ELF, 415, ["receipt", "image"]),
        (EXE, 415, ["receipt", "PDF"]),
        (b"", 400, ["receipt", "empty"]),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_RECEIPT_BYTES, 413, ["receipt", "10 MB"]),
        (b"%PDF-" + b"x" * (MAX_RECEIPT_BYTES + 200_000), 413, ["receipt", "10 MB"]),
    ],
    ids=["elf-renamed-png", "exe-renamed-png", "empty", "just-over-10mb", "way-over-10mb"],
)
def test_refused_uploads_write_nothing(api, expense, receipts_dir, rows, content, status, words):
    before = rows()
    url = f"{V2}/expenses/{expense['id']}/receipt"
    assert_error(
        api.post(url, files={"receipt": ("photo.png", content, "image/png")}), status, *words
    )
    assert files(receipts_dir) == []
    assert rows() == before
    assert ok(api.get(f"{V2}/expenses/{expense['id']}"))["receipt_url"] is None


def test_exactly_10mb_is_accepted(api, expense):
    content = b"%PDF-" + b"x" * (MAX_RECEIPT_BYTES - 5)
    attached = ok(
        api.post(f"{V2}/expenses/{expense['id']}/receipt", files={"receipt": ("big.pdf", content)})
    )
    assert attached["receipt_size"] == MAX_RECEIPT_BYTES


def test_missing_field_and_other_accounts(api, expense, other_tenant, caller, receipts_dir):
    url = f"{V2}/expenses/{expense['id']}/receipt"
    assert_error(api.post(url, files={"file": ("x.png", PNG)}), 400, "receipt")
    ok(api.post(url, files={"receipt": ("x.png", PNG)}))
    # another account sees nothing; a member sees only their own expenses' receipts
    assert_error(other_tenant.client.get(url), 404)
    assert_error(other_tenant.client.post(url, files={"receipt": ("x.png", PNG)}), 404)
    assert_error(other_tenant.client.delete(url), 404)
    assert_error(caller("member").get(url), 404)
    assert caller("manager").get(url).content == PNG
    # deleting the expense removes its file after commit
    ok(api.delete(f"{V2}/expenses/{expense['id']}"), 204)
    assert files(receipts_dir) == []


def test_locked_expense_refuses_a_receipt(api, expense):
    ok(api.post(f"{V2}/expenses/submit", json={"ids": [expense["id"]]}))
    ok(api.post(f"{V2}/expenses/approve", json={"ids": [expense["id"]]}))
    response = api.post(f"{V2}/expenses/{expense['id']}/receipt", files={"receipt": ("a", PNG)})
    assert_error(response, 409, "approved")
