"""The floor of the stack timeledger is built on: the least a FastAPI + Pydantic +
SQLAlchemy app can do per request for the tracking benchmark's create and list, measured
under the same load beside it, so the budget's ratios to /hello can be read against what
the stack itself allows.

The same POST /api/v2/time_entries body, validated by a Pydantic model, written with one
SQLAlchemy Core INSERT and committed; a GET of the newest 10 rows of one user by one
indexed SELECT, answered through a Pydantic model. No authentication, no rate limit, no
checks of the project or task, no events, audit or totals: everything timeledger does on
top is left out, so nothing can go faster on this stack in one process.

    uvicorn bench.floor:create_floor_app --factory   (TIMELEDGER_DATABASE_URL: its database)
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    MetaData,
    Numeric,
    String,
    Table,
    Uuid,
    create_engine,
    event,
    insert,
    select,
)

FACTORY = "bench.floor:create_floor_app"  # for uvicorn --factory
PATH = "/api/v2/time_entries"
LIST = f"{PATH}?user_id=bench&per_page=10"

metadata = MetaData()
entries = Table(
    "floor_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", String(36)),
    Column("project_id", String(36)),
    Column("task_id", String(36)),
    Column("spent_date", Date),
    Column("hours", Numeric(12, 4)),
    Column("notes", String(1000)),
    Column("created_at", DateTime),
    Index("ix_floor_entries_user", "user_id", "created_at"),
)


class EntryIn(BaseModel):
    project_id: str
    task_id: str
    spent_date: date
    hours: Decimal
    notes: str | None = None


class EntryOut(EntryIn):
    id: uuid.UUID
    user_id: str
    created_at: datetime


class Entries(BaseModel):
    time_entries: list[EntryOut]


def create_floor_app() -> FastAPI:
    url = os.environ["TIMELEDGER_DATABASE_URL"]
    engine = create_engine(url, pool_size=16)
    if engine.dialect.name == "sqlite":  # as timeledger runs SQLite: WAL, normal sync

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
                conn.execute(f"PRAGMA {pragma}")

    metadata.create_all(engine)
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(PATH, status_code=201)
    def create(body: EntryIn) -> EntryOut:
        row = {**body.model_dump(), "id": uuid.uuid4(), "user_id": "bench"}
        row["created_at"] = datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            conn.execute(insert(entries), row)
        return EntryOut(**row)

    @app.get(PATH)
    def newest(user_id: str, per_page: int = 10) -> Entries:
        query = (
            select(entries)
            .where(entries.c.user_id == user_id)
            .order_by(entries.c.created_at.desc())
            .limit(per_page)
        )
        with engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return Entries(time_entries=[EntryOut(**row) for row in rows])

    return app
