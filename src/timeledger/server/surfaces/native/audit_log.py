"""/api/v2 audit log: who changed what, when and through which surface (admins and owners)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from timeledger.server.audit import service as audit
from timeledger.server.audit.models import AuditRecord
from timeledger.server.audit.schemas import AuditFilters
from timeledger.server.core.fields import AwareDatetime
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.wire import Id, ListEnvelope, Wire, envelope, list_model

router = SurfaceRouter(tags=["audit log"])


class AuditRecordOut(Wire):
    id: Id
    occurred_at: datetime
    user_id: Id | None
    api_key_id: Id | None
    surface: str
    object_type: str
    object_id: Id
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, row: AuditRecord) -> "AuditRecordOut":
        return cls.model_validate(row)


AuditLog = list_model("audit_log", AuditRecordOut)


async def _filters(
    object_type: Annotated[str | None, Query(description="e.g. time_entry, expense")] = None,
    object_id: str | None = None,
    user_id: str | None = None,
    api_key_id: str | None = None,
    surface: Annotated[str | None, Query(description="e.g. api/v2, system")] = None,
    action: Annotated[str | None, Query(description="e.g. created, updated, stopped")] = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from", description="at or after")] = None,
    to: Annotated[AwareDatetime | None, Query(description="at or before")] = None,
) -> AuditFilters:
    return AuditFilters(
        object_type=object_type,
        object_id=object_id,
        user_id=user_id,
        api_key_id=api_key_id,
        surface=surface,
        action=action,
        from_=from_,
        to=to,
    )


@router.get(
    "/audit_log",
    response_model=AuditLog,
    summary=(
        "Every recorded change, newest first: who (user and API key; null for the system's "
        "own changes), when, through which surface, and the changed fields before and after"
    ),
)
def list_audit_log(
    request: Request,
    session: Session,
    actor: CurrentActor,
    paging: Paging,
    filters: Annotated[AuditFilters, Depends(_filters)],
) -> ListEnvelope:
    page = audit.list_records(session, actor, filters, page=paging.page, per_page=paging.per_page)
    items = [AuditRecordOut.of(row) for row in page.items]
    return envelope(AuditLog, "audit_log", page, items, request)
