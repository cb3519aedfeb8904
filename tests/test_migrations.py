"""The schema comes from migrations, and the models agree with them on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from timeledger.server import migrate
from timeledger.server.models import metadata


def test_upgrade_from_empty_reaches_head(db):
    heads = ScriptDirectory.from_config(migrate.alembic_config(db.engine)).get_heads()
    assert migrate.current_revisions(db.engine) == set(heads)
    tables = set(inspect(db.engine).get_table_names())
    assert {table.name for table in metadata.sorted_tables} <= tables


def test_models_and_migrations_agree(db):
    """Fails when a model changes without a migration (or a migration without the model)."""
    with db.engine.connect() as conn:
        opts = {
            "compare_type": True,
            # Full-text search objects no model describes (migrate.py) are not drift.
            "include_name": migrate.include_name,
            "include_object": migrate.include_object,
        }
        context = MigrationContext.configure(conn, opts=opts)
        differences = compare_metadata(context, metadata)
    assert differences == []
