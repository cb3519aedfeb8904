"""The SQL that GET /time_entries runs and how the database plans it: the list service
(tracking.service.list_entries) is called as the API calls it, its statements are captured
from the engine, and each one on time_entries is EXPLAINed (EXPLAIN QUERY PLAN on SQLite,
EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL), after the indexes the table has."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.orm import Session

from timeledger.server.accounts.keys import authenticate
from timeledger.server.tracking.schemas import EntryFilters
from timeledger.server.tracking.service import list_entries


def indexes(conn: Connection) -> list[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'time_entries'"
            " AND sql IS NOT NULL ORDER BY name"
        )
    else:
        rows = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = 'time_entries' ORDER BY 1")
        )
    return [row[0] for row in rows]


def _call(session: Session, token: str, path: str) -> None:
    query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
    page, per_page = int(query.pop("page", 1)), int(query.pop("per_page", 100))
    day = {k: date.fromisoformat(query.pop(k)) for k in ("from", "to") if k in query}
    filters = EntryFilters(**query, from_=day.get("from"), to=day.get("to"))
    actor = authenticate(session, token).actor
    list_entries(session, actor, filters, page=page, per_page=per_page)


def _short(statement: str) -> str:
    """The statement on one line, a long column list cut to its count."""

    def columns(match: re.Match[str]) -> str:
        names = match.group(1).count(",") + 1
        return f"SELECT <{names} columns> FROM" if names > 4 else match.group(0)

    return re.sub(r"SELECT (.+?) FROM", columns, " ".join(statement.split()))


def explain(conn: Connection, statement: str, params: Any) -> list[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        return [f"{'  ' * (parent > 0)}{detail}" for _, parent, _, detail in rows]
    rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params)
    return [row[0] for row in rows]


def explain_list(url: str, token: str, queries: dict[str, str], limit: int = 4) -> str:
    engine = create_engine(url)
    lines = []
    try:
        with engine.connect() as conn:
            lines.append("   indexes on time_entries:")
            lines.extend(f"     {sql}" for sql in indexes(conn))
        for name, path in list(queries.items())[:limit]:
            captured: list[tuple[str, Any]] = []

            def capture(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
                if "FROM time_entries" in statement:
                    captured.append((statement, params))  # noqa: B023 (used at once)

            event.listen(engine, "before_cursor_execute", capture)
            with Session(engine) as session:
                _call(session, token, path)
            event.remove(engine, "before_cursor_execute", capture)
            lines.append(f"   GET {path.split('/')[-1]}  ({name})")
            with engine.connect() as conn:
                for statement, params in captured:
                    lines.append(f"     SQL: {_short(statement)}")
                    lines.append(f"     params: {params}")
                    lines.extend(f"       | {line}" for line in explain(conn, statement, params))
    finally:
        engine.dispose()
    return "\n".join(lines)
