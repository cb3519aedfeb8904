"""/api/v2 expenses, expense categories, receipts and expense approvals."""

from collections.abc import Iterator
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from timeledger.server.core.fields import AwareDatetime
from timeledger.server.expenses import receipts
from timeledger.server.expenses import service as expenses
from timeledger.server.expenses.models import ExpenseCategory
from timeledger.server.expenses.receipts import ReceiptStore
from timeledger.server.expenses.schemas import (
    CategoryCreate,
    CategoryUpdate,
    ExpenseCreate,
    ExpenseFilters,
    ExpenseUpdate,
)
from timeledger.server.expenses.service import ExpenseView
from timeledger.server.reports import export
from timeledger.server.reports.schemas import ExportFormat
from timeledger.server.surfaces.native.catalog import active_filters
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.exporting import download
from timeledger.server.surfaces.native.resources import Operations, add_resource
from timeledger.server.surfaces.native.wire import (
    Id,
    IdName,
    ListEnvelope,
    Number,
    Timestamps,
    Wire,
    envelope,
    list_model,
)
from timeledger.server.tracking import approvals
from timeledger.server.tracking.schemas import ChangeRequest, Selection, SpentDate

router = APIRouter()
TAG: list[str | Enum] = ["expenses"]


class ExpenseCategoryOut(Timestamps):
    id: Id
    name: str
    unit_name: str | None
    unit_price: Number | None
    is_active: bool

    @classmethod
    def of(cls, row: ExpenseCategory) -> "ExpenseCategoryOut":
        return cls.model_validate(row)


add_resource(
    router,
    path="/expense_categories",
    key="expense_categories",
    singular="expense category",
    out=ExpenseCategoryOut,
    render=ExpenseCategoryOut.of,
    create=CategoryCreate,
    update=CategoryUpdate,
    filters=active_filters,
    ops=Operations(
        expenses.list_categories,
        expenses.get_category,
        expenses.create_category,
        expenses.update_category,
        expenses.delete_category,
    ),
)


class ExpenseOut(Timestamps):
    id: Id
    spent_date: date
    user_id: Id
    user: IdName
    project_id: Id
    project: IdName
    client_id: Id | None
    client: IdName | None
    expense_category_id: Id
    expense_category: IdName
    units: int | None
    unit_name: str | None
    unit_price: Number | None
    total_cost: Number
    currency: str
    notes: str | None
    billable: bool
    source: Literal["web", "cli", "api", "agent"]
    metadata: dict[str, Any] | None
    receipt_url: str | None
    receipt_file_name: str | None
    receipt_content_type: str | None
    receipt_size: int | None
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"]
    rejection_reason: str | None
    is_locked: bool
    locked_reason: str | None
    is_closed: bool
    is_billed: bool

    @classmethod
    def of(cls, view: ExpenseView) -> "ExpenseOut":
        e = view.expense
        client = e.project.client
        user = e.user
        user_name = " ".join(p for p in (user.first_name, user.last_name) if p) or user.email
        return cls(
            id=e.id,
            spent_date=e.spent_date,
            user_id=e.user_id,
            user=IdName(id=user.id, name=user_name),
            project_id=e.project_id,
            project=IdName(id=e.project.id, name=e.project.name),
            client_id=client.id if client else None,
            client=IdName(id=client.id, name=client.name) if client else None,
            expense_category_id=e.expense_category_id,
            expense_category=IdName(id=e.category.id, name=e.category.name),
            units=e.units,
            unit_name=e.category.unit_name if e.units is not None else None,
            unit_price=e.unit_price,
            total_cost=e.total_cost,
            currency=view.currency,
            notes=e.notes,
            billable=e.billable,
            source=e.source,
            metadata=e.meta,
            receipt_url=f"/api/v2/expenses/{e.id}/receipt" if e.receipt_key else None,
            receipt_file_name=e.receipt_file_name,
            receipt_content_type=e.receipt_content_type,
            receipt_size=e.receipt_size,
            approval_status=e.approval_status,
            rejection_reason=e.rejection_reason,
            is_locked=view.is_locked,
            locked_reason=view.locked_reason,
            is_closed=view.is_closed,
            is_billed=e.is_billed,
            created_at=e.created_at,
            updated_at=e.changed_at,
        )


ExpenseList = list_model("expenses", ExpenseOut)


class Expenses(Wire):
    expenses: list[ExpenseOut]


async def _filters(
    user_id: str | None = None,
    project_id: str | None = None,
    client_id: str | None = None,
    expense_category_id: str | None = None,
    source: Literal["web", "cli", "api", "agent"] | None = None,
    from_: Annotated[
        SpentDate | None, Query(alias="from", description="spent_date >= this")
    ] = None,
    to: Annotated[SpentDate | None, Query(description="spent_date <= this")] = None,
    is_billed: bool | None = None,
    approval_status: Literal["unsubmitted", "submitted", "approved", "rejected"] | None = None,
    updated_since: AwareDatetime | None = None,
) -> ExpenseFilters:
    return ExpenseFilters(
        user_id=user_id,
        project_id=project_id,
        client_id=client_id,
        expense_category_id=expense_category_id,
        source=source,
        from_=from_,
        to=to,
        is_billed=is_billed,
        approval_status=approval_status,
        updated_since=updated_since,
    )


Filters = Annotated[ExpenseFilters, Depends(_filters)]


def _store(request: Request) -> ReceiptStore:
    return ReceiptStore(request.app.state.settings.effective_receipts_dir)


Store = Annotated[ReceiptStore, Depends(_store)]


@router.get("/expenses", response_model=ExpenseList, tags=TAG, summary="List expenses")
def list_expenses(
    request: Request, session: Session, actor: CurrentActor, paging: Paging, filters: Filters
) -> ListEnvelope:
    page = expenses.list_expenses(
        session, actor, filters, page=paging.page, per_page=paging.per_page
    )
    items = [ExpenseOut.of(view) for view in page.items]
    return envelope(ExpenseList, "expenses", page, items, request)


@router.post(
    "/expenses",
    response_model=ExpenseOut,
    status_code=201,
    tags=TAG,
    summary="Log an expense: total_cost, or whole units of a unit-priced category",
)
def create_expense(
    command: Annotated[ExpenseCreate, Body()], session: Session, actor: CurrentActor
) -> ExpenseOut:
    return ExpenseOut.of(expenses.create_expense(session, actor, command))


# Fixed paths before /expenses/{id}.
@router.get(
    "/expenses/export",
    tags=TAG,
    summary="Export expenses (CSV, NDJSON or XLSX), filters as for the list",
    response_class=StreamingResponse,
)
def export_expenses(
    request: Request,
    session: Session,
    actor: CurrentActor,
    filters: Filters,
    format: ExportFormat = "csv",
) -> StreamingResponse:
    table = export.expense_table(session, actor, filters)
    return download(request, table, format, "expenses")


def _many(views: list[ExpenseView]) -> Expenses:
    return Expenses(expenses=[ExpenseOut.of(view) for view in views])


@router.post(
    "/expenses/submit",
    response_model=Expenses,
    tags=TAG,
    summary="Submit expenses for approval (ids, or user_id + from/to)",
)
def submit(
    selection: Annotated[Selection, Body()], session: Session, actor: CurrentActor
) -> Expenses:
    return _many(approvals.submit_rows(session, actor, expenses.EXPENSES, selection))


@router.post(
    "/expenses/approve",
    response_model=Expenses,
    tags=TAG,
    summary="Approve submitted expenses (managers and above); approved expenses lock",
)
def approve(
    selection: Annotated[Selection, Body()], session: Session, actor: CurrentActor
) -> Expenses:
    return _many(approvals.approve_rows(session, actor, expenses.EXPENSES, selection))


@router.post(
    "/expenses/request_changes",
    response_model=Expenses,
    tags=TAG,
    summary="Send submitted expenses back with a reason (managers and above)",
)
def request_changes(
    request: Annotated[ChangeRequest, Body()], session: Session, actor: CurrentActor
) -> Expenses:
    return _many(approvals.request_changes_to_rows(session, actor, expenses.EXPENSES, request))


@router.post(
    "/expenses/unlock", response_model=Expenses, tags=TAG, summary="Unlock approved expenses"
)
def unlock(
    selection: Annotated[Selection, Body()], session: Session, actor: CurrentActor
) -> Expenses:
    return _many(approvals.unlock_rows(session, actor, expenses.EXPENSES, selection))


@router.get("/expenses/{id}", response_model=ExpenseOut, tags=TAG, summary="Get an expense")
def get_expense(id: str, session: Session, actor: CurrentActor) -> ExpenseOut:
    return ExpenseOut.of(expenses.get_expense(session, actor, id))


@router.patch(
    "/expenses/{id}",
    response_model=ExpenseOut,
    tags=TAG,
    summary="Update an expense (metadata merges key by key; null clears it)",
)
def update_expense(
    id: str, command: Annotated[ExpenseUpdate, Body()], session: Session, actor: CurrentActor
) -> ExpenseOut:
    return ExpenseOut.of(expenses.update_expense(session, actor, id, command))


@router.delete(
    "/expenses/{id}",
    status_code=204,
    response_class=Response,
    tags=TAG,
    summary="Delete an expense (not approved or billed ones) and its receipt",
)
def delete_expense(id: str, session: Session, actor: CurrentActor, store: Store) -> Response:
    receipts.delete_expense(session, actor, store, id)
    return Response(status_code=204)


@router.post(
    "/expenses/{id}/receipt",
    response_model=ExpenseOut,
    tags=TAG,
    summary="Attach a receipt (multipart field `receipt`; image or PDF, at most 10 MB)",
)
def attach_receipt(
    id: str,
    receipt: Annotated[UploadFile, File(description="An image or a PDF, at most 10 MB")],
    session: Session,
    actor: CurrentActor,
    store: Store,
) -> ExpenseOut:
    view = receipts.attach(session, actor, store, id, receipt.filename, receipt.file)
    return ExpenseOut.of(view)


@router.get(
    "/expenses/{id}/receipt",
    tags=TAG,
    summary="Download an expense's receipt",
    response_class=StreamingResponse,
)
def get_receipt(id: str, session: Session, actor: CurrentActor, store: Store) -> Response:
    found = receipts.open_receipt(session, actor, store, id)

    def chunks() -> Iterator[bytes]:
        with found.file:
            while chunk := found.file.read(receipts.CHUNK):
                yield chunk

    disposition = "inline" if found.content_type.startswith("image/") else "attachment"
    return StreamingResponse(
        chunks(),
        media_type=found.content_type,
        headers={
            "Content-Length": str(found.size),
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(found.name, safe='')}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.delete(
    "/expenses/{id}/receipt", response_model=ExpenseOut, tags=TAG, summary="Remove a receipt"
)
def delete_receipt(id: str, session: Session, actor: CurrentActor, store: Store) -> ExpenseOut:
    return ExpenseOut.of(receipts.detach(session, actor, store, id))
