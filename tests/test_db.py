"""The database layer under failure: a dropped PostgreSQL connection is a retryable 503 once,
never a 500, and the pool recovers by itself."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Integer, cast, create_engine, inspect, literal, select, text
from sqlalchemy.engine import make_url

from timeledger.server.accounts.models import Account
from timeledger.server.catalog.models import Client
from timeledger.server.config import Settings, SettingsError
from timeledger.server.core.errors import Conflict
from timeledger.server.core.ids import new_id
from timeledger.server.core.types import Fixed
from timeledger.server.db import Database, FairLock, batches, insert_object
from timeledger.server.outbox.models import OutboxEvent
from timeledger.server.outbox.service import emit


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


def test_reads_on_the_event_loop_are_shared_only_by_callers_who_asked_before_they_began(db):
    """The key check's read (Database.read_keyed_on_loop): callers waiting at once share one
    round trip, and a caller who asks while a read is under way gets a later one, which sees
    what was committed in between (a revocation must reach the very next request)."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's reads never wait, so none is under way")
    table = f"loop_reads_{uuid.uuid4().hex[:8]}"
    # Each read is numbered once per statement and takes 0.2 s, so callers can pile up.
    sql = (
        f"WITH r AS (SELECT nextval('{table}_n') AS n, pg_sleep(0.2)) "
        f"SELECT t.id, t.v, r.n FROM {table} t, r WHERE t.id = ANY(%s)"
    )
    with db.engine.begin() as conn:
        conn.execute(text(f"CREATE SEQUENCE {table}_n"))
        conn.execute(text(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)"))
        conn.execute(text(f"INSERT INTO {table} SELECT g, 'old' FROM generate_series(1, 10) g"))

    async def scenario() -> tuple[Any, Any, list[Any], bool]:
        first = asyncio.create_task(db.read_keyed_on_loop(sql, 1))
        await asyncio.sleep(0.05)  # the first read is under way
        with db.engine.begin() as conn:
            conn.execute(text(f"UPDATE {table} SET v = 'new' WHERE id = 1"))
        waiting = [asyncio.create_task(db.read_keyed_on_loop(sql, k)) for k in (1, *range(2, 11))]
        missing = asyncio.create_task(db.read_keyed_on_loop(sql, 99))
        given_up = asyncio.create_task(db.read_keyed_on_loop(sql, 3))
        await asyncio.sleep(0)
        given_up.cancel()  # one caller giving up must not cancel the others' read
        return await first, await missing, await asyncio.gather(*waiting), given_up.cancelled()

    def connections() -> int:
        with db.engine.connect() as conn:
            sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            return int(conn.execute(text(sql)).scalar_one())

    before = connections()
    try:
        first, missing, waiting, given_up = asyncio.run(scenario())
        # The finished loop holds its connection no longer (here, one read waited its turn).
        gc.collect()
        deadline = time.monotonic() + 5
        while connections() > before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert connections() == before
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {table}"))
            conn.execute(text(f"DROP SEQUENCE {table}_n"))
    assert first == (1, "old", 1)
    assert missing is None
    assert given_up
    assert [tuple(row) for row in waiting] == [(1, "new", 2)] + [
        (k, "old", 2) for k in range(2, 11)
    ]


def test_postgresql_connections_run_without_jit_and_keep_the_urls_options(db):
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no JIT")
    url = make_url(db.url).update_query_dict({"options": "-c statement_timeout=4321"})
    other = Database(Settings(database_url=url.render_as_string(hide_password=False)))
    try:
        with other.transaction(write=False) as session:
            shown = [session.scalar(text(f"SHOW {name}")) for name in ("jit", "statement_timeout")]
    finally:
        other.dispose()
    assert shown == ["off", "4321ms"]
    with db.transaction(write=False) as session:
        assert session.scalar(text("SHOW jit")) == "off"


@pytest.mark.parametrize(
    ("variable", "field", "default"),
    [
        ("TIMELEDGER_SQLITE_CACHE_MIB", "sqlite_cache_mib", 8),
        ("TIMELEDGER_HANDLER_THREADS", "handler_threads", 8),
        ("TIMELEDGER_MAX_CONCURRENCY", "max_concurrency", 64),
    ],
)
def test_sizes_of_memory_and_threads_are_whole_numbers_from_one(variable, field, default):
    assert getattr(Settings.from_env({}), field) == default
    assert getattr(Settings.from_env({variable: "3"}), field) == 3
    for bad, says in [
        ("0", "must be 1 or more, got 0"),
        ("-2", "must be 1 or more, got -2"),
        ("lots", "must be a whole number, got 'lots'"),
    ]:
        with pytest.raises(SettingsError) as raised:
            Settings.from_env({variable: bad})
        assert str(raised.value) == f"{variable} {says}"


def test_sqlite_page_caches_share_one_budget_of_the_settings_size(db):
    """Each SQLite connection would otherwise cache up to 2 MiB of pages, times a pool of
    80: TIMELEDGER_SQLITE_CACHE_MIB bounds them all together (SQLite's soft heap limit)."""
    if not db.is_sqlite:
        pytest.skip("SQLite only: PostgreSQL's caches are the server's")
    settings = Settings.from_env({"TIMELEDGER_SQLITE_CACHE_MIB": "12"})
    other = Database(dataclasses.replace(settings, database_url=db.url))
    try:
        with other.transaction(write=False) as session:
            limit = session.scalar(text("PRAGMA soft_heap_limit"))
    finally:
        other.dispose()
        with db.engine.connect() as conn:  # the limit is the process's: give the run's back
            conn.exec_driver_sql(f"PRAGMA soft_heap_limit={db.settings.sqlite_cache_mib << 20}")
    assert limit == 12 * 1024 * 1024


def test_the_pool_hands_out_the_most_recently_used_connection_first(db):
    """A server below its peak keeps reusing a few warm connections (LIFO)."""
    first, second = db.engine.connect(), db.engine.connect()
    first_driver = first.connection.driver_connection
    second_driver = second.connection.driver_connection
    first.close()
    second.close()  # returned last
    with db.engine.connect() as again:
        assert again.connection.driver_connection is second_driver
    assert first_driver is not second_driver


def _counting(to: int) -> Any:
    """1, 2, … `to` as column `n`, on either engine."""
    n = select(literal(1).label("n")).cte("n", recursive=True)
    return n.union_all(select(n.c.n + 1).where(n.c.n < to))


def test_batches_read_a_query_in_order_with_parameters_bound_by_their_types(db):
    n = _counting(5_000)
    price = literal(Decimal("2.5"), Fixed(2))  # 250 only if bound through Fixed
    stmt = (
        select(n.c.n, cast(price, Integer))
        .where(n.c.n.not_in([3, 4]), price.in_([Decimal(1), Decimal("2.5")]))
        .order_by(n.c.n)
    )
    with db.transaction(write=False) as session:
        read = list(batches(session.connection(), stmt, 1_000))
    assert [len(batch) for batch in read] == [1_000, 1_000, 1_000, 1_000, 998]
    rows = [tuple(row) for batch in read for row in batch]
    assert rows[:3] == [(1, 250), (2, 250), (5, 250)]
    assert rows[-1] == (5_000, 250)


def test_a_read_left_part_way_stops_the_query_and_the_connection_serves_again(db):
    """An export whose client goes away closes its batches: PostgreSQL's streamed query is
    cancelled rather than left running, and the pooled connection works for the next
    transaction."""
    n = _counting(2_000_000)
    with db.transaction(write=False) as session:
        rows = batches(session.connection(), select(n.c.n), 100)
        assert [row[0] for row in next(rows)] == list(range(1, 101))
        rows.close()
    with db.transaction(write=False) as session:
        assert session.execute(select(literal(7))).scalar() == 7
        if not db.is_sqlite:
            running = session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE '%RECURSIVE%' AND pid <> pg_backend_pid()"
                )
            ).scalar()
            assert running == 0


def test_a_deadlock_between_two_requests_ends_one_with_a_409_to_retry(db, tenant, other_tenant):
    """Two writes lock the same two rows in opposite orders. PostgreSQL ends one of them;
    that request answers a 409 saying to retry (not a 500) and writes nothing."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's writers take turns, so they never deadlock")
    first, second = uuid.UUID(tenant.account_id), uuid.UUID(other_tenant.account_id)
    both_hold_one = threading.Barrier(2, timeout=10)
    outcomes: dict[str, Any] = {}
    touch = text("UPDATE accounts SET name = name || '+' WHERE id = :id")

    def write(name: str, order: tuple[uuid.UUID, uuid.UUID]) -> None:
        try:
            with db.transaction(write=True) as session:
                session.execute(touch, {"id": order[0]})
                both_hold_one.wait()
                session.execute(touch, {"id": order[1]})
            outcomes[name] = "committed"
        except Conflict as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=write, args=("a", (first, second))),
        threading.Thread(target=write, args=("b", (second, first))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(str, outcomes.values())).count("committed") == 1
    (lost,) = [o for o in outcomes.values() if isinstance(o, Conflict)]
    assert (lost.status, lost.code) == (409, "concurrent_request")
    assert "retry" in lost.message
    with db.transaction(write=False) as session:
        names = session.execute(
            text("SELECT name FROM accounts WHERE id IN (:a, :b) ORDER BY name"),
            {"a": first, "b": second},
        ).scalars()
        assert sorted(names) == sorted(["Acme+", "Globex+"])  # the winner's two updates only


def _wait_for(condition: Any, timeout: float = 5.0) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, "timed out"
        time.sleep(0.001)


def test_the_write_lock_goes_to_its_waiters_in_the_order_they_came():
    lock = FairLock()
    order: list[int] = []
    lock.__enter__()

    def wait_in_line(number: int) -> None:
        with lock:
            order.append(number)

    threads = []
    for number in range(8):
        thread = threading.Thread(target=wait_in_line, args=(number,))
        thread.start()
        threads.append(thread)
        _wait_for(lambda n=number: len(lock._queue) == n + 1)  # in line before the next
    # Released by a thread other than the one that took it, as a request's commit does.
    releaser = threading.Thread(target=lock.__exit__)
    releaser.start()
    for thread in [releaser, *threads]:
        thread.join(5)
    assert order == list(range(8))
    with lock:  # free again, with no one left in line
        assert not lock._queue


def test_rows_inserted_now_follow_a_new_account_and_leave_the_rest_to_the_flush(db, tenant):
    """insert_now (the outbox, the audit trail) writes at once, past the unit of work: a new
    account its rows reference is written first; whatever else is pending waits for the
    session's own flush."""
    known = uuid.UUID(tenant.account_id)
    with db.transaction(write=True) as session:
        session.add(Client(account_id=known, name="Pending"))
        first = emit(session, known, "client.created", {"n": 1})
        assert [type(row) for row in session.new] == [Client]  # left to the flush
        newer = Account(id=new_id(), name="Hooli", settings={})
        session.add(newer)
        second = emit(session, newer.id, "client.created", {"n": 2})
        assert not session.new  # the account had to go first: the flush took all
    with db.transaction(write=False) as session:
        stored = session.execute(
            select(OutboxEvent.id, OutboxEvent.account_id, OutboxEvent.data).where(
                OutboxEvent.id.in_([first, second])
            )
        ).all()
    assert sorted(stored) == [(first, known, {"n": 1}), (second, newer.id, {"n": 2})]


def test_an_object_inserted_now_is_in_the_session_as_loaded_with_its_defaults(db, tenant, sql_run):
    """insert_object (a time entry's create) writes the row at once and keeps the object as
    if read back: its defaults set on it, nothing pending, nothing to read again."""
    known = uuid.UUID(tenant.account_id)
    with db.transaction(write=True) as session, sql_run() as statements:
        client = Client(account_id=known, name="Initech", currency=None, is_active=None)
        insert_object(session, client)
        state = inspect(client)
        assert state.persistent and client in session
        assert not session.new and not session.dirty
        statements.clear()
        assert client.is_active is True  # None takes the column default, as a flush does
        assert client.currency is None and client.name == "Initech"
        assert client.created_at == client.updated_at and client.id is not None
        assert statements == []  # every column is loaded: nothing read back
        client.company = "Initech LLC"  # an ordinary change of a loaded row from here on
        session.flush()
        assert [s.split()[0] for s in statements] == ["UPDATE"]
    with db.transaction(write=False) as session:
        stored = session.get(Client, client.id)
        assert stored is not None
        assert (stored.name, stored.company, stored.is_active) == ("Initech", "Initech LLC", True)
        assert stored.created_at == client.created_at


def test_an_object_inserted_now_is_the_row_a_flush_would_write(db):
    """insert_object writes what the unit of work would: unset and None attributes take
    their defaults, but None on a JSON column is JSON null, as a flush stores it."""
    columns = "settings IS NULL, settings, timezone, currency, plan, rate_limit_per_hour"

    def stored(session: Any, account: Account) -> tuple[Any, ...]:
        found = session.execute(
            text(f"SELECT {columns} FROM accounts WHERE name = :name"), {"name": account.name}
        ).one()
        return tuple(found)

    with db.transaction(write=True) as session:
        flushed = Account(id=new_id(), name=f"flushed {new_id()}", settings=None, currency=None)
        session.add(flushed)
        session.flush()
        now = Account(id=new_id(), name=f"now {new_id()}", settings=None, currency=None)
        insert_object(session, now)
        assert stored(session, now) == stored(session, flushed)
        assert stored(session, now)[0] in (False, 0)  # JSON null, not SQL NULL
        assert (now.settings, now.currency) == (None, "USD")
        session.rollback()
