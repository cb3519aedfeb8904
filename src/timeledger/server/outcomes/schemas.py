"""Commands of outcomes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from timeledger.server.core.fields import Command, LongText, trimmed
from timeledger.server.expenses.schemas import UnitPrice
from timeledger.server.outcomes.projection import MAX_QUANTITY, TYPE_MAX_LENGTH
from timeledger.server.tracking.schemas import EntryFilters, Metadata, Source, SpentDate

OutcomeType = Annotated[
    str, StringConstraints(min_length=1, max_length=TYPE_MAX_LENGTH), AfterValidator(trimmed)
]
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


class OutcomeCreate(Command):
    project_id: str
    task_id: str
    spent_date: SpentDate
    user_id: str | None = None
    type: OutcomeType
    description: LongText | None = None
    unit_price: UnitPrice | None = None
    quantity: Quantity = 1
    success: bool = True
    evidence: dict[str, Any] | None = None
    metadata: Metadata | None = None
    billable: bool | None = None
    source: Source = "api"


class OutcomeFilters(EntryFilters):
    type: str | None = None
    success: bool | None = None
