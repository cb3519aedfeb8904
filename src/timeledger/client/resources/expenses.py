"""Expenses (with approvals, receipts and export) and expense categories."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Required, TypedDict, Unpack

from timeledger.client._http import Call, Request
from timeledger.client.models import Deleted, Expense, ExpenseCategory, Source
from timeledger.client.pagination import Listing
from timeledger.client.resources._base import (
    IO,
    Approvable,
    Collection,
    download,
    fetch,
    listing,
    operation,
    renamed,
    send,
)
from timeledger.client.resources.time_entries import ExportFormat, Progress

Money = Decimal | int | str
Day = date | str


class ExpenseFilters(TypedDict, total=False):
    user_id: str
    project_id: str
    client_id: str
    expense_category_id: str
    source: Source
    from_date: Day
    to_date: Day
    is_billed: bool
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"]
    updated_since: datetime


class _ExpenseFields(TypedDict, total=False):
    user_id: str | None
    total_cost: Money | None
    units: int | None
    notes: str | None
    billable: bool | None
    metadata: dict[str, Any] | None


class ExpenseCreate(_ExpenseFields, total=False):
    project_id: Required[str]
    expense_category_id: Required[str]
    spent_date: Required[Day]
    source: Source


class ExpenseUpdate(_ExpenseFields, total=False):
    project_id: str
    expense_category_id: str
    spent_date: Day


class Expenses(Approvable[IO, Expense]):
    path, key, model = "/expenses", "expenses", Expense

    @listing
    def list(
        self, *, per_page: int | None = None, **filters: Unpack[ExpenseFilters]
    ) -> Listing[Expense]:
        return self._listing(per_page=per_page, **renamed(filters))

    @operation
    def create(self, **fields: Unpack[ExpenseCreate]) -> Call[Expense]:
        """Log an expense: a `total_cost`, or whole `units` of a unit-priced category."""
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[ExpenseUpdate]) -> Call[Expense]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[None]:
        """Delete an expense (not approved or billed ones) and its receipt."""
        yield from send("DELETE", f"{self.path}/{id}")

    @operation
    def export(
        self,
        *,
        format: ExportFormat = "csv",
        progress: Progress | None = None,
        **filters: Unpack[ExpenseFilters],
    ) -> Call[bytes]:
        params = {"format": format, **renamed(filters)}
        return (yield from download(f"{self.path}/export", params, progress))

    @operation
    def attach_receipt(
        self, id: str, content: bytes, *, filename: str, content_type: str
    ) -> Call[Expense]:
        """Attach a receipt (an image or a PDF, at most 10 MB)."""
        files = {"receipt": (filename, content, content_type)}
        answer = yield Request("POST", f"{self.path}/{id}/receipt", files=files)
        return Expense.from_wire(answer)

    @operation
    def receipt(self, id: str) -> Call[bytes]:
        return (yield from download(f"{self.path}/{id}/receipt", {}))

    @operation
    def remove_receipt(self, id: str) -> Call[Expense]:
        return (yield from fetch(Expense, "DELETE", f"{self.path}/{id}/receipt"))


class _CategoryFields(TypedDict, total=False):
    unit_name: str | None
    unit_price: Money | None
    is_active: bool


class CategoryCreate(_CategoryFields, total=False):
    name: Required[str]


class CategoryUpdate(_CategoryFields, total=False):
    name: str


class ExpenseCategories(Collection[IO, ExpenseCategory]):
    path, key, model = "/expense_categories", "expense_categories", ExpenseCategory

    @listing
    def list(
        self, *, is_active: bool | None = None, per_page: int | None = None
    ) -> Listing[ExpenseCategory]:
        return self._listing(is_active=is_active, per_page=per_page)

    @operation
    def create(self, **fields: Unpack[CategoryCreate]) -> Call[ExpenseCategory]:
        """A category; with `unit_name`/`unit_price` expenses are logged in units
        (e.g. tokens at a per-token price)."""
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[CategoryUpdate]) -> Call[ExpenseCategory]:
        return (yield from self._update(id, fields))

    @operation
    def delete(self, id: str) -> Call[Deleted]:
        return (yield from self._delete(id))
