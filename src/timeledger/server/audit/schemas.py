"""Commands of the audit log: its list filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from timeledger.server.core.fields import Command

Word = Annotated[str, StringConstraints(max_length=64)]


class AuditFilters(Command):
    """List filters; every one optional. Ids that are no UUID match nothing."""

    object_type: Word | None = None
    object_id: Word | None = None
    user_id: Word | None = None
    api_key_id: Word | None = None
    surface: Word | None = None
    action: Word | None = None
    from_: datetime | None = None  # occurred_at >= this
    to: datetime | None = None  # occurred_at <= this
