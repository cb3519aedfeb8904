"""Alembic, driven from code: `timeledger migrate`, `serve` and the tests all come here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


# Database objects that migrations create but no model describes: full-text search (see
# reports/search.py and migrations 0004 and 0011). The drift check (tests/test_migrations.py)
# and autogenerate skip them, so they never show up as "remove" differences.
# "time_entry_search" covers time_entry_search (PostgreSQL) and time_entry_search_keys.
UNMODELLED_TABLE_PREFIXES = ("time_entries_fts", "time_entry_search")
UNMODELLED_COLUMNS: frozenset[tuple[str, str]] = frozenset()
UNMODELLED_INDEXES = frozenset({"ix_time_entry_search"})


def include_name(name: str | None, type_: str, parent_names: Mapping[str, Any]) -> bool:
    """Alembic's name filter: unmodelled tables (FTS5 and its shadow tables) are never
    reflected."""
    return not (type_ == "table" and name and name.startswith(UNMODELLED_TABLE_PREFIXES))


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's object filter: the search column and index are not drift."""
    if type_ == "column" and (obj.table.name, name) in UNMODELLED_COLUMNS:
        return False
    if type_ == "index" and name in UNMODELLED_INDEXES:
        return False
    return include_name(name, type_, {})


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    command.upgrade(alembic_config(engine), revision)


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
