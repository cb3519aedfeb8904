"""Query helpers every domain repository uses, so tenant scoping and paging live in one place."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import Session

from timeledger.server.audit import trail
from timeledger.server.core.actor import Actor
from timeledger.server.core.errors import Conflict, NotFound, ValidationFailed
from timeledger.server.db import Base
from timeledger.server.outbox.service import emit

T = TypeVar("T", bound=Base)
Item = TypeVar("Item")

MAX_PER_PAGE = 2000
DEFAULT_PER_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    total: int
    page: int
    per_page: int

    @property
    def total_pages(self) -> int:
        return -(-self.total // self.per_page)


def scoped(model: type[T], account_id: uuid.UUID) -> Select[T]:
    """Every query starts here: rows of the caller's account only."""
    return select(model).where(model.account_id == account_id)  # type: ignore[attr-defined]


def get_scoped(
    session: Session,
    model: type[T],
    account_id: uuid.UUID,
    id: uuid.UUID | None,
    what: str,
    *,
    field: str | None = None,
) -> T:
    """The row with this id in this account, or NotFound: another account's id is simply
    not found, so nothing leaks about what exists elsewhere."""
    row = session.get(model, id) if id is not None else None
    if row is None or row.account_id != account_id:  # type: ignore[attr-defined]
        raise NotFound(what, field=field)
    return row


def paginate(
    session: Session, stmt: Select[T], page: int, per_page: int, *, ranked: bool = False
) -> Page[T]:
    """One page of `stmt` and how many rows all pages hold. A list counts with a query of its
    own, which an index answers, and then reads only its page. The first page of a `ranked`
    statement (a search: its order needs every match scored) counts in the same pass, with
    a window; a later page may lie past the end, where no row would carry the count."""
    if page < 1:
        raise ValidationFailed("page must be 1 or greater", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationFailed(f"per_page must be between 1 and {MAX_PER_PAGE}", field="per_page")
    offset = (page - 1) * per_page
    if ranked and offset == 0:
        rows = session.execute(stmt.add_columns(func.count().over()).limit(per_page)).all()
        total = rows[0][1] if rows else 0
        return Page(items=[row[0] for row in rows], total=total, page=page, per_page=per_page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if offset >= total:  # nothing to fetch (and a huge page would overflow the OFFSET)
        return Page(items=[], total=total, page=page, per_page=per_page)
    postgres = session.get_bind().dialect.name == "postgresql"
    if offset and postgres and (key := _row_id(stmt)) is not None:
        # A later page picks its ids first, from the index its order follows, and reads only
        # those rows: a plain OFFSET reads every row it skips (and what they join) only to
        # throw it away. On PostgreSQL, page 109 of a person's entries (10 a page) took 16.7 ms,
        # now 0.7 ms; the benchmark's page 500 request, 1M entries: 15.6 -> 9.4 ms. SQLite's
        # planner reads the outer query through the filters' index anyway, testing each row
        # against the ids (project page 500: 6.1 -> 10.1 ms), so there OFFSET stays.
        page_ids = stmt.with_only_columns(key).limit(per_page).offset(offset)
        items = list(session.scalars(stmt.where(key.in_(page_ids))))
    else:
        items = list(session.scalars(stmt.limit(per_page).offset(offset)))
    return Page(items=items, total=total, page=page, per_page=per_page)


def _row_id(stmt: Select[Any]) -> Any:
    """The `id` column of a statement that selects whole rows of one model, else None."""
    described = stmt.column_descriptions
    if len(described) != 1 or described[0]["expr"] is not described[0]["entity"]:
        return None
    return getattr(described[0]["entity"], "id", None)


def apply_changes(row: Base, changes: dict[str, Any]) -> dict[str, Any]:
    """Set the given attributes; returns {field: new value} for those that really changed."""
    changed: dict[str, Any] = {}
    for name, value in changes.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed[name] = value
    return changed


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):  # one spelling whatever the scale: 7.5, not 7.5000
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(row: Base) -> dict[str, Any]:
    """A JSON-ready copy of a row's columns, for events and audit records; columns marked
    `info={"internal": True}` (bookkeeping kept by the database) are left out."""
    return {
        attr.key: _plain(getattr(row, attr.key))
        for attr in inspect(row).mapper.column_attrs
        if not attr.columns[0].info.get("internal")
    }


# --- writes that announce themselves ------------------------------------------------------


def create_and_emit(session: Session, actor: Actor, row: T, resource: str) -> T:
    """Insert a row, emit `<resource>.created` and record it in the audit trail, in the same
    transaction."""
    session.add(row)
    session.flush()
    data = snapshot(row)
    emit(session, row.account_id, f"{resource}.created", data)  # type: ignore[attr-defined]
    trail.record(session, actor, f"{resource}.created", row, None, data)
    return row


def update_and_emit(
    session: Session, actor: Actor, row: T, changes: dict[str, Any], resource: str
) -> T:
    """Apply changes and, if any did, emit `<resource>.updated` (with the changed field
    names) and record the changed fields before and after in the audit trail."""
    before = snapshot(row)
    changed = apply_changes(row, changes)
    if changed:
        session.flush()
        # A changed foreign key (client_id ...) leaves the loaded relationship pointing at the
        # old row; expire relationships so the response shows the new one.
        session.expire(row, [rel.key for rel in inspect(row).mapper.relationships])
        after = snapshot(row)
        data = {**after, "changed_fields": sorted(changed)}
        emit(session, row.account_id, f"{resource}.updated", data)  # type: ignore[attr-defined]
        trail.record(session, actor, f"{resource}.updated", row, before, after)
    return row


def delete_and_emit(session: Session, actor: Actor, row: T, resource: str) -> None:
    """Delete a row that nothing else still points at (else Conflict naming what does), emit
    `<resource>.deleted` and record it in the audit trail. Rows that belong to it (ON DELETE
    CASCADE) go with it."""
    ensure_unreferenced(session, row, resource)
    data = snapshot(row)
    session.delete(row)
    session.flush()
    emit(session, row.account_id, f"{resource}.deleted", data)  # type: ignore[attr-defined]
    trail.record(session, actor, f"{resource}.deleted", row, data, None)


def ensure_unreferenced(session: Session, row: Base, resource: str) -> None:
    """Conflict when any table holds a non-cascading foreign key to this row. Read from the
    schema itself, so a domain added later is covered without registering anything."""
    table = row.__table__
    blockers: list[str] = []
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is not table or fk.ondelete == "CASCADE":
                continue
            row_id = row.id  # type: ignore[attr-defined]
            count = session.scalar(
                select(func.count()).select_from(other).where(fk.parent == row_id)
            )
            if count:
                blockers.append(f"{count} {other.name.replace('_', ' ')}")
    if blockers:
        raise Conflict(
            f"this {resource.replace('_', ' ')} is still referenced by {', '.join(blockers)}; "
            "remove or reassign those first",
            code="still_referenced",
        )
