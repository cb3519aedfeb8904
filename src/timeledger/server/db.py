"""Engines and transactions. One transaction per request: a surface opens it, services work
inside it and never commit, and it commits once at the end or rolls back on any error.

SQLite: WAL (readers never block the writer), foreign keys on, and write transactions that
start with BEGIN IMMEDIATE while holding a process-wide lock. SQLite admits one writer at a
time anyway; queueing writers on a lock here is cheap and fair, whereas letting them race
into SQLite's busy handler makes each loser sleep in growing steps and throughput collapses.
"""

from __future__ import annotations

import asyncio
import collections
import json
import queue
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    CursorResult,
    Dialect,
    Engine,
    Select,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    make_url,
    text,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached

from timeledger.server.config import Settings
from timeledger.server.core.errors import Conflict, Unavailable


class Base(DeclarativeBase):
    pass


def upsert(dialect: str, table: Any) -> PgInsert | SqliteInsert:
    """An INSERT into `table` that can say ON CONFLICT, in the dialect's spelling (the same
    on both engines: `.on_conflict_do_nothing(...)`, `.on_conflict_do_update(...)`)."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def insert_now(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
) -> CursorResult[Any]:
    """INSERT `rows` into `model`'s table now, on the session's connection: past the unit
    of work and the flush the session runs before any statement of its own, for the rows
    every write appends (outbox events, audit records; their flushes cost a create about a
    tenth of its time). What the session still holds for the tables they reference (a new
    account) is written first."""
    table: Table = model.__table__  # type: ignore[assignment]  # declarative: a Table
    referenced = _referenced(table)
    if any(getattr(pending, "__table__", None) in referenced for pending in session.new):
        session.flush()
    return session.connection().execute(insert(table), rows)


def insert_object(session: Session, obj: Base) -> None:
    """INSERT a new object's row now (insert_now) and keep the object in the session as
    if loaded from it, for the one row a request writes on its hot path (a time entry: the
    unit of work's flush cost a create a third of its time). The row is the one a flush
    would write: attributes left unset or None take their column's default, except that
    None set on a JSON column is stored as JSON null. No flush event runs for the row."""
    mapper = inspect(obj).mapper
    given = obj.__dict__
    row = {}
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if attr.key in given and (given[attr.key] is not None or column.type.should_evaluate_none):
            row[column.key] = given[attr.key]
    inserted = insert_now(session, type(obj), [row]).last_inserted_params()
    assert not isinstance(inserted, list)  # one row: executed once, not as a batch
    for attr in mapper.column_attrs:
        if attr.columns[0].key not in row:
            setattr(obj, attr.key, inserted.get(attr.columns[0].key))
    make_transient_to_detached(obj)  # what it holds now counts as loaded, nothing as changed
    session.add(obj)


@cache
def _referenced(table: Table) -> frozenset[Any]:
    return frozenset(key.column.table for key in table.foreign_keys)


_WRITE_OPTION = "timeledger_write"
_CONCURRENCY_FAILURES = {"40P01", "40001"}  # deadlock detected, serialization failure


def _pg_options(url: str) -> str:
    """libpq `options` for every connection: the URL's own, with JIT off. PostgreSQL
    compiles a report's aggregation anew on every call: over a year of team time that
    took 100 ms, and the query ran in 220 ms without it against 320 ms with it."""
    given = make_url(url).query.get("options", "")
    return " ".join(filter(None, ["-c jit=off", given if isinstance(given, str) else ""]))


class FairLock:
    """A lock that goes to its waiters in the order they came (threading.Lock wakes any
    one of them: at 64 clients some writes waited for SQLite's write lock twice as long
    as the median). It may be released by a thread other than the one that took it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: collections.deque[threading.Lock] = collections.deque()
        self._held = False

    def __enter__(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        try:
            turn.acquire()  # released by the holder that hands the lock over
        except BaseException:
            with self._mutex:
                handed = turn not in self._queue
                if not handed:
                    self._queue.remove(turn)
            if handed:
                self.__exit__()
            raise

    def __exit__(self, *_: object) -> None:
        with self._mutex:
            if self._queue:
                self._queue.popleft().release()  # held throughout: the next waiter has it
            else:
                self._held = False


class Database:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.effective_database_url
        self.is_sqlite = self.url.startswith("sqlite")
        # Pool as large as the number of requests that can run at once, plus headroom for
        # out-of-band writes (key last-used stamps) and background work, so no request waits.
        # Most recently used first: a server that is not at its peak keeps reusing a few warm
        # connections (their caches) rather than cycling through all of them.
        pool_size = settings.max_concurrency + 16
        if self.is_sqlite:
            self._prepare_sqlite_dir()
            self.engine = create_engine(
                self.url,
                pool_size=pool_size,
                pool_use_lifo=True,
                max_overflow=0,
                pool_timeout=60,
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            self._install_sqlite_hooks()
        else:
            self.engine = create_engine(
                self.url,
                pool_size=pool_size,
                pool_use_lifo=True,
                max_overflow=0,
                pool_timeout=60,
                # No pre-ping: it would cost a round trip on every request. A connection the
                # server dropped fails one request with a retryable 503 and the pool is
                # renewed; recycling keeps connections younger than common idle timeouts.
                pool_recycle=1800,
                connect_args={"options": _pg_options(self.url)},
            )
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._write_lock = FairLock()
        # Idle read-only SQLite connections for read_one; as many as were ever in use at once.
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        # Per event loop (a server has one; tests run several): see read_keyed_on_loop.
        self._loop_reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedReads]
        self._loop_reads = weakref.WeakKeyDictionary()

    def _prepare_sqlite_dir(self) -> None:
        path = self.url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    def _install_sqlite_hooks(self) -> None:
        synchronous = self.settings.sqlite_synchronous
        # One budget for the page caches of every connection (SQLite's soft heap limit is
        # per process): each connection's own default (2 MiB) times a pool of 80 was 160 MiB
        # of copies of what the OS already caches, once a big ledger had been read.
        cache_bytes = self.settings.sqlite_cache_mib * 1024 * 1024

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take over transaction control from the sqlite3 module so BEGIN is ours.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA soft_heap_limit={cache_bytes}")
            # Other processes (a CLI command beside the server) may still hold the write lock.
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Any) -> None:
            write = conn.get_execution_options().get(_WRITE_OPTION, False)
            # Straight to the driver: this runs on every request, and SQLAlchemy's full
            # statement machinery would cost more than the BEGIN itself.
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back if it
        raises. Objects stay readable after commit (expire_on_commit=False)."""
        if write and self.is_sqlite:
            with self._write_lock:
                yield from self._run(self._write_engine)
        else:
            yield from self._run(self._write_engine if write else self.engine)

    @staticmethod
    def _run(bind: Engine) -> Iterator[Session]:
        session = Session(bind=bind, expire_on_commit=False, autoflush=True)
        try:
            yield session
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            if isinstance(exc, IntegrityError):
                # A constraint the services did not pre-check (a race between two requests):
                # the request conflicts with data that now exists.
                raise Conflict(
                    "the change conflicts with existing data; retry or adjust it"
                ) from exc
            if getattr(exc.orig, "sqlstate", None) in _CONCURRENCY_FAILURES:
                # PostgreSQL chose this transaction to end a deadlock with another request
                # (say, two bulk writes adding to the same kept totals in opposite orders):
                # nothing was written, and the same request succeeds when sent again.
                raise Conflict(
                    "the request collided with a concurrent one on the same records and "
                    "nothing was written; retry it",
                    code="concurrent_request",
                ) from exc
            if exc.connection_invalidated:
                raise Unavailable("the database connection was reset; retry the request") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def keyed_read(self, table: Table, key: str, *columns: str) -> KeyedRead:
        """A read of `columns` of `table` from the row whose `key` is given, straight to the
        driver in its own dialect, seeing everything committed, with none of the session and
        transaction machinery: for the one check every request makes
        (accounts/credentials.py)."""
        names = ", ".join((key, *columns))
        if self.is_sqlite:  # one key; a JSON list of keys (see read_keyed_on_loop)
            mark, of_keys = "?", "IN (SELECT value FROM json_each(?))"
        else:
            mark, of_keys = "%s", "= ANY(%s)"
        # Names from the models; the values are bound, never formatted in.
        select_ = f"SELECT {names} FROM {table.name} WHERE {key}"  # noqa: S608
        dialect = self.engine.dialect
        return KeyedRead(
            self,
            one=f"{select_} = {mark}",
            many=f"{select_} {of_keys}",
            bind=table.c[key].type.bind_processor(dialect) or _as_is,
            results=[table.c[c].type.result_processor(dialect, None) or _as_is for c in columns],
        )

    def read_one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One row of a read-only statement in the driver's own dialect (`?` on SQLite, `%s`
        on PostgreSQL), seeing everything committed (see keyed_read)."""
        if self.is_sqlite:
            rows = self._read_sqlite(sql, params)
            return rows[0] if rows else None
        raw = self.engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            driver.autocommit = True  # one statement: no BEGIN/ROLLBACK round trips
            try:
                row: tuple[Any, ...] | None = driver.execute(sql, params).fetchone()
            finally:
                driver.autocommit = False
        except Exception as exc:
            raw.invalidate()
            raise Unavailable("the database connection was reset; retry the request") from exc
        finally:
            raw.close()
        return row

    async def read_keyed_on_loop(self, sql: str, key: Any) -> tuple[Any, ...] | None:
        """The row of `sql` whose first column is `key`, read without leaving the event loop
        (a trip to a worker thread would cost several times the read).

        `sql` filters its key column with one placeholder for a list of keys (KeyedRead.many:
        `IN (SELECT value FROM json_each(?))` on SQLite, `= ANY(%s)` on PostgreSQL). Callers
        waiting on one loop at once share one read: one round trip on PostgreSQL, on the
        loop's own connection; one read transaction on SQLite, whose locks cost more than
        the lookup. Each caller's read begins after it asked, so it sees everything
        committed before."""
        loop = asyncio.get_running_loop()
        reads = self._loop_reads.get(loop)
        if reads is None:
            reads = self._loop_reads[loop] = _SharedReads(self._loop_reader())
            weakref.finalize(loop, reads.reader.close)
        return await reads.read_keyed(sql, key)

    def _loop_reader(self) -> _Reader:
        if self.is_sqlite:
            return _SqliteLoopReader(self._read_sqlite)
        url = make_url(self.url).set(drivername="postgresql")
        return _LoopConnection(url.render_as_string(hide_password=False))

    def _read_sqlite(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of a read-only statement on a pooled read-only connection."""
        try:
            reader = self._readers.get_nowait()
        except queue.Empty:
            reader = self._sqlite_reader()
        try:
            return reader.execute(sql, params).fetchall()
        finally:
            self._readers.put(reader)

    def _sqlite_reader(self) -> sqlite3.Connection:
        """A new read-only connection (kept for reuse: opening one costs more than a read)."""
        path = self.url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        return conn

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        while not self._readers.empty():
            self._readers.get_nowait().close()
        for reads in list(self._loop_reads.values()):
            reads.reader.close()


def _as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class KeyedRead:
    """See Database.keyed_read. Each read answers the columns' values, or None without a
    row."""

    database: Database
    one: str
    many: str
    bind: Callable[[Any], Any]
    results: list[Callable[[Any], Any]]

    def now(self, key: Any) -> tuple[Any, ...] | None:
        return self._values(self.database.read_one(self.one, (self.bind(key),)))

    async def on_loop(self, key: Any) -> tuple[Any, ...] | None:
        """Read without leaving the event loop; see Database.read_keyed_on_loop."""
        return self._values(await self.database.read_keyed_on_loop(self.many, self.bind(key)))

    def _values(self, row: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if row is None:
            return None
        return tuple(result(value) for result, value in zip(self.results, row[1:], strict=True))


class _Reader(Protocol):
    async def read_many(self, sql: str, keys: list[Any]) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


class _SqliteLoopReader:
    """SQLite reads on the loop's own thread: they take microseconds."""

    def __init__(self, read: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]) -> None:
        self._read = read

    async def read_many(self, sql: str, keys: list[Any]) -> list[tuple[Any, ...]]:
        return self._read(sql, (json.dumps(keys),))

    def close(self) -> None:
        pass  # its connections are the database's pooled readers


@dataclass
class _SharedRead:
    """One read of a statement for every key asked for before it was sent."""

    keys: set[Any]
    rows: asyncio.Future[dict[Any, tuple[Any, ...]]]


class _SharedReads:
    """One read at a time on a loop. Callers asking while a read is under way wait for the
    next one, which then answers all of them: under load one read serves many requests
    instead of each queueing for its own. Idle, it holds nothing of the loop's (futures, a
    task), so a finished loop and its connection can go."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self._next: dict[str, _SharedRead] = {}
        self._reading: asyncio.Task[None] | None = None

    async def read_keyed(self, sql: str, key: Any) -> tuple[Any, ...] | None:
        shared = self._next.get(sql)
        if shared is None:
            loop = asyncio.get_running_loop()
            shared = self._next[sql] = _SharedRead(set(), loop.create_future())
            if self._reading is None:
                self._reading = loop.create_task(self._read_in_turn())
        shared.keys.add(key)
        # Shielded: one caller giving up must not cancel the others' read.
        rows = await asyncio.shield(shared.rows)
        return rows.get(key)

    async def _read_in_turn(self) -> None:
        try:
            while self._next:
                # From here on, callers of this statement wait for a read that starts later.
                sql = next(iter(self._next))
                shared = self._next.pop(sql)
                try:
                    rows = await self.reader.read_many(sql, list(shared.keys))
                except asyncio.CancelledError:
                    shared.rows.cancel()
                    raise
                except Exception as exc:
                    shared.rows.set_exception(exc)
                else:
                    shared.rows.set_result({row[0]: row for row in rows})
        finally:
            self._reading = None


class _LoopConnection:
    """A PostgreSQL autocommit connection of one event loop's own."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: Any = None

    async def read_many(self, sql: str, keys: list[Any]) -> list[tuple[Any, ...]]:
        return await self._read_retrying(sql, (keys,))

    async def _read_retrying(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        import psycopg  # the PostgreSQL driver, present wherever PostgreSQL is used

        try:
            return await self._read(sql, params)
        except psycopg.OperationalError:
            # The server dropped the connection (a restart, an idle timeout): a read is safe
            # to repeat, once, on a new one.
            self.close()
        try:
            return await self._read(sql, params)
        except psycopg.Error as exc:
            self.close()
            raise Unavailable("the database connection was reset; retry the request") from exc

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        cursor = await self._conn.execute(sql, params)
        rows: list[tuple[Any, ...]] = await cursor.fetchall()
        return rows

    def close(self) -> None:
        """Closed at once, from any thread or loop (libpq's own close, no round trip)."""
        if self._conn is not None:
            self._conn.pgconn.finish()
            self._conn = None


# The session type surfaces annotate with, so they need not import SQLAlchemy.
DbSession = Session


def batches(conn: Connection, stmt: Select[Any], size: int) -> Iterator[Sequence[Any]]:
    """The rows of a query, `size` at a time, as plain tuples, read as it runs.

    SQLite: its own cursor. PostgreSQL: libpq's chunked rows (psycopg's Cursor.stream), so
    the backend goes on sending while Python uses what came, where a server-side cursor
    left it idle between FETCHes: the CSV export of 1.1 million entries went from 132,000
    to 165,000 rows/s. Closing the batches early cancels the query. The statement is
    compiled by SQLAlchemy and its parameters bound as an execute would bind them."""
    if conn.dialect.name != "postgresql":
        with conn.execute(stmt, execution_options={"yield_per": size}) as result:
            yield from result.partitions()
        return
    sql, params = _driver_statement(conn.dialect, stmt)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    # The stream first: closing it part way cancels the query and drains the connection.
    with cursor, closing(cursor.stream(sql, params, size=_STREAMED_ROWS)) as rows:
        while batch := list(islice(rows, size)):
            yield batch


_STREAMED_ROWS = 500  # a libpq chunk: 100 read as fast, 2,000 about 5% slower


def _driver_statement(dialect: Dialect, stmt: Select[Any]) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters an execute of `stmt` would pass the driver: lists expanded
    (IN), each value through its type's bind processor (a Fixed decimal as its integer)."""
    compiled = stmt.compile(dialect=dialect)
    state = compiled.construct_expanded_state()
    unescaped = {escaped: name for name, escaped in compiled.escaped_bind_names.items()}
    expanded = {key for keys in state.parameter_expansion.values() for key in keys}
    params = {}
    for key, value in state.parameters.items():
        if key in expanded:  # an element of a list
            process = state.processors.get(key)
        else:
            bind = compiled.binds[unescaped.get(key, key)]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        params[key] = process(value) if process else value
    return state.statement, params
