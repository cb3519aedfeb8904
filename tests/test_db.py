"""The database layer under failure: a dropped PostgreSQL connection is a retryable 503 once,
never a 500, and the pool recovers by itself."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def test_dropped_connections_fail_one_request_with_503_then_recover(db, api):
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: an embedded SQLite connection cannot be dropped")
    # /clients reads through the pool (the key check has a connection of its own, which
    # reconnects by itself: a read is safe to repeat).
    assert api.get("/api/v2/clients").status_code == 200  # a pooled connection exists
    name = make_url(db.url).database
    admin = create_engine(make_url(db.url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar()
    admin.dispose()
    assert killed >= 1

    # The pooled connection is dead: that request gets a retryable 503 and the whole pool
    # is renewed, so the next ones succeed.
    first = api.get("/api/v2/clients")
    assert first.status_code == 503
    assert first.json()["error"] == "unavailable"
    assert [api.get("/api/v2/clients").status_code for _ in range(2)] == [200, 200]
