"""Outcomes: results an agent delivered, billed per unit (`revenue = unit_price x quantity`
when it succeeded). Each is also a 0-hour time entry, changed or deleted through
time_entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from timeledger.client._http import Call
from timeledger.client.models import Outcome, Source
from timeledger.client.pagination import Listing
from timeledger.client.resources._base import IO, Collection, listing, operation, renamed


class OutcomeFilters(TypedDict, total=False):
    user_id: str
    project_id: str
    task_id: str
    client_id: str
    type: str
    success: bool
    source: Source
    from_date: date | str
    to_date: date | str
    is_billed: bool
    updated_since: datetime


class Outcomes(Collection[IO, Outcome]):
    path, key, model = "/outcomes", "outcomes", Outcome

    @listing
    def list(
        self, *, per_page: int | None = None, **filters: Unpack[OutcomeFilters]
    ) -> Listing[Outcome]:
        return self._listing(per_page=per_page, **renamed(filters))

    def _log(
        self,
        *,
        project_id: str,
        task_id: str,
        type: str,
        description: str | None = None,
        quantity: int = 1,
        unit_price: Decimal | int | str | None = None,
        success: bool = True,
        evidence: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        spent_date: date | str | None = None,
        user_id: str | None = None,
        billable: bool | None = None,
        source: Source = "agent",
    ) -> Call[Outcome]:
        """Log an outcome, e.g. `type=OutcomeTypes.TICKET_RESOLVED, unit_price="0.99"`;
        `spent_date` defaults to today in the account's time zone."""
        body = {
            "project_id": project_id,
            "task_id": task_id,
            "spent_date": spent_date or (yield from self._today()),
            "type": type,
            "description": description,
            "quantity": quantity,
            "unit_price": unit_price,
            "success": success,
            "evidence": None if evidence is None else dict(evidence),
            "metadata": None if metadata is None else dict(metadata),
            "user_id": user_id,
            "billable": billable,
            "source": source,
        }
        return (yield from self._create({k: v for k, v in body.items() if v is not None}))

    log = operation(_log)
