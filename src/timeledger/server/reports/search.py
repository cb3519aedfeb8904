"""Full-text search over time-entry notes (an outcome's description is its entry's notes),
ranked, with the list filters.

SQLite: an FTS5 table `time_entries_fts` (porter stemming, case folded) whose rowid is
the entry's key in `time_entry_search_keys` (an INTEGER PRIMARY KEY, so VACUUM never changes
it); triggers on time_entries keep both in step on every insert, notes update and delete.
PostgreSQL: `time_entry_search` holds each entry's tsvector (english) under a GIN index, kept
by triggers on insert and notes update (migration 0011: off time_entries, so claiming rows for
an invoice never rewrites the vector). Both are created by migrations and are not models
(migrate.include_object keeps them out of the drift check). The query is the words of `q`,
all required, each stemmed. Both engines fold case and keep accents (PostgreSQL would need the
unaccent extension to fold them), so a search finds the same entries on either."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Connection, column, func, literal_column, select, table
from sqlalchemy.orm import Session

from timeledger.server.core.actor import Actor
from timeledger.server.core.crud import Page, paginate
from timeledger.server.core.errors import ValidationFailed
from timeledger.server.tracking import service as tracking
from timeledger.server.tracking.models import TimeEntry
from timeledger.server.tracking.schemas import EntryFilters
from timeledger.server.tracking.views import EntryView

FTS_TABLE = "time_entries_fts"
KEYS_TABLE = "time_entry_search_keys"
VECTOR_TABLE = "time_entry_search"
TS_CONFIG = "english"
MAX_TERMS = 16
_WORD = re.compile(r"\w+", re.UNICODE)

_fts = table(FTS_TABLE, column("rowid"))
_keys = table(KEYS_TABLE, column("rowid"), column("entry_id"))
_vectors = table(VECTOR_TABLE, column("entry_id"), column("search_vector"))


def terms_of(q: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(q)]
    if not words:
        raise ValidationFailed("q must contain at least one word (letters or digits)", field="q")
    if len(words) > MAX_TERMS:
        raise ValidationFailed(f"q may contain at most {MAX_TERMS} words", field="q")
    return list(dict.fromkeys(words))


def search_entries(
    session: Session, actor: Actor, q: str, filters: EntryFilters, *, page: int, per_page: int
) -> Page[EntryView]:
    terms = terms_of(q)
    view = tracking.viewer(session, actor)
    stmt = tracking.apply_filters(tracking.visible_entries(actor), filters, view)
    if session.get_bind().dialect.name == "postgresql":
        query = func.to_tsquery(TS_CONFIG, " & ".join(terms))
        vector: ColumnElement[Any] = _vectors.c.search_vector
        stmt = stmt.join(_vectors, _vectors.c.entry_id == TimeEntry.id)
        stmt = stmt.where(vector.op("@@")(query))
        rank = func.ts_rank_cd(vector, query).desc()
    else:
        match = " ".join(f'"{term}"' for term in terms)  # \w+ words: no quotes inside
        hits = (
            select(_keys.c.entry_id, func.bm25(literal_column(FTS_TABLE)).label("score"))
            .select_from(_fts.join(_keys, _keys.c.rowid == _fts.c.rowid))
            .where(literal_column(FTS_TABLE).op("MATCH")(match))
            .subquery("hits")
        )
        stmt = stmt.join(hits, hits.c.entry_id == TimeEntry.id)
        rank = hits.c.score.asc()  # bm25: lower is a better match
    stmt = stmt.order_by(rank, TimeEntry.spent_date.desc(), TimeEntry.id.desc())
    stmt = stmt.options(*tracking.PAGE_LOADING)
    result = paginate(session, stmt, page, per_page, ranked=True)
    return Page([view.view(e) for e in result.items], result.total, result.page, result.per_page)


def rebuild(conn: Connection) -> None:
    """Rebuild the SQLite search index from time_entries, for bulk loads that went in with
    the insert trigger off (much faster than a trigger per row). PostgreSQL's is kept by
    a statement trigger, set-based, and is never out of step."""
    if conn.dialect.name != "sqlite":
        return
    # Table names are this module's constants, never input.
    conn.exec_driver_sql(f"DELETE FROM {FTS_TABLE}")  # noqa: S608
    conn.exec_driver_sql(f"DELETE FROM {KEYS_TABLE}")  # noqa: S608
    conn.exec_driver_sql(f"INSERT INTO {KEYS_TABLE} (entry_id) SELECT id FROM time_entries")  # noqa: S608
    conn.exec_driver_sql(
        f"INSERT INTO {FTS_TABLE} (rowid, notes) SELECT k.key, t.notes "  # noqa: S608
        f"FROM {KEYS_TABLE} k JOIN time_entries t ON t.id = k.entry_id "
        "WHERE coalesce(t.notes, '') <> ''"
    )
