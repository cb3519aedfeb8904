"""Columns every table shares."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Uuid, event
from sqlalchemy.orm import Mapped, Mapper, declared_attr, mapped_column

from timeledger.server.core.clock import utcnow
from timeledger.server.core.ids import new_id
from timeledger.server.core.types import UTCDateTime


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


def _same_as_created(context: Any) -> datetime:
    """A new row's updated_at is its created_at, to the microsecond."""
    created: datetime | None = context.get_current_parameters().get("created_at")
    return created if created is not None else utcnow()


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_same_as_created, onupdate=utcnow
    )


class AccountScoped(IdMixin, TimestampMixin):
    """A row that belongs to one account; every query filters on account_id."""

    @declared_attr
    def account_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 (SQLAlchemy passes the class)
        return mapped_column(Uuid, ForeignKey("accounts.id", ondelete="CASCADE"))


@event.listens_for(AccountScoped, "after_mapper_constructed", propagate=True)
def _index_account_rows(mapper: Mapper[Any], cls: type[Any]) -> None:
    """Every account-scoped table gets an (account_id, id) index: it serves tenant scoping
    and newest-first paging (ids are time-ordered) in one, without sorting the account."""
    table = cls.__table__
    Index(f"ix_{table.name}_account_id", table.c.account_id, table.c.id)
