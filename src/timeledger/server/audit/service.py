"""Reading the audit log (trail.py records it)."""

from __future__ import annotations

from sqlalchemy import false
from sqlalchemy.orm import Session

from timeledger.server.audit.models import AuditRecord
from timeledger.server.audit.schemas import AuditFilters
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.crud import Page, paginate, scoped
from timeledger.server.core.errors import ValidationFailed
from timeledger.server.core.ids import parse_id


def list_records(
    session: Session, actor: Actor, filters: AuditFilters, *, page: int, per_page: int
) -> Page[AuditRecord]:
    """The account's audit log, newest first; admins and owners only."""
    actor.require(Role.admin, "reading the audit log")
    if filters.from_ and filters.to and filters.from_ > filters.to:
        raise ValidationFailed("from must not be after to", field="from")
    stmt = scoped(AuditRecord, actor.account_id)
    for name in ("object_id", "user_id", "api_key_id"):
        raw = getattr(filters, name)
        if raw is not None:
            uid = parse_id(raw)
            column = getattr(AuditRecord, name)
            stmt = stmt.where(column == uid if uid else false())
    for name in ("object_type", "surface", "action"):
        value = getattr(filters, name)
        if value is not None:
            stmt = stmt.where(getattr(AuditRecord, name) == value)
    if filters.from_ is not None:
        stmt = stmt.where(AuditRecord.occurred_at >= filters.from_)
    if filters.to is not None:
        stmt = stmt.where(AuditRecord.occurred_at <= filters.to)
    return paginate(session, stmt.order_by(AuditRecord.id.desc()), page, per_page)
