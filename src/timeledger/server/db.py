"""Engines and transactions. One transaction per request: a surface opens it, services work
inside it and never commit, and it commits once at the end or rolls back on any error.

SQLite: WAL (readers never block the writer), foreign keys on, and write transactions that
start with BEGIN IMMEDIATE while holding a process-wide lock. SQLite admits one writer at a
time anyway; queueing writers on a lock here is cheap and fair, whereas letting them race
into SQLite's busy handler makes each loser sleep in growing steps and throughput collapses.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session

from timeledger.server.config import Settings
from timeledger.server.core.errors import Conflict, Unavailable


class Base(DeclarativeBase):
    pass


_WRITE_OPTION = "timeledger_write"


class Database:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.effective_database_url
        self.is_sqlite = self.url.startswith("sqlite")
        # Pool as large as the number of requests that can run at once, plus headroom for
        # out-of-band writes (key last-used stamps) and background work, so no request waits.
        pool_size = settings.max_concurrency + 16
        if self.is_sqlite:
            self._prepare_sqlite_dir()
            self.engine = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=60,
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            self._install_sqlite_hooks()
        else:
            self.engine = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=60,
                # No pre-ping: it would cost a round trip on every request. A connection the
                # server dropped fails one request with a retryable 503 and the pool is
                # renewed; recycling keeps connections younger than common idle timeouts.
                pool_recycle=1800,
            )
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._write_lock = threading.Lock()
        # Idle read-only SQLite connections for read_one; as many as were ever in use at once.
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._loop_reader = None if self.is_sqlite else _LoopReader(self.url)

    def _prepare_sqlite_dir(self) -> None:
        path = self.url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    def _install_sqlite_hooks(self) -> None:
        synchronous = self.settings.sqlite_synchronous

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take over transaction control from the sqlite3 module so BEGIN is ours.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
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
            if exc.connection_invalidated:
                raise Unavailable("the database connection was reset; retry the request") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def read_one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One row of a read-only statement in the driver's own dialect (`?` on SQLite, `%s`
        on PostgreSQL), seeing everything committed, with none of the session and transaction
        machinery: for the one check every request makes (accounts/credentials.py)."""
        if self.is_sqlite:
            try:
                reader = self._readers.get_nowait()
            except queue.Empty:
                reader = self._sqlite_reader()
            try:
                row: tuple[Any, ...] | None = reader.execute(sql, params).fetchone()
            finally:
                self._readers.put(reader)
            return row
        raw = self.engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            driver.autocommit = True  # one statement: no BEGIN/ROLLBACK round trips
            try:
                row = driver.execute(sql, params).fetchone()
            finally:
                driver.autocommit = False
        except Exception as exc:
            raw.invalidate()
            raise Unavailable("the database connection was reset; retry the request") from exc
        finally:
            raw.close()
        return row

    async def read_one_on_loop(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """read_one without leaving the event loop: SQLite answers in microseconds, and
        PostgreSQL is asked on a connection of the loop's own (a trip to a worker thread would
        cost several times the read)."""
        if self._loop_reader is None:
            return self.read_one(sql, params)
        return await self._loop_reader.read_one(sql, params)

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
        if self._loop_reader is not None:
            self._loop_reader.close()


class _LoopReader:
    """PostgreSQL connections for reads made on the event loop: one autocommit connection per
    loop (a server has one; tests run several), on which requests take turns; each read is
    one short round trip."""

    def __init__(self, url: str) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnection]
        self._by_loop = weakref.WeakKeyDictionary()

    async def read_one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        loop = asyncio.get_running_loop()
        mine = self._by_loop.get(loop)
        if mine is None:
            mine = self._by_loop[loop] = _LoopConnection(self.conninfo)
            weakref.finalize(loop, mine.close)
        return await mine.read_one(sql, params)

    def close(self) -> None:
        for mine in list(self._by_loop.values()):
            mine.close()


class _LoopConnection:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: Any = None
        self._turn = asyncio.Lock()

    async def read_one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        import psycopg  # the PostgreSQL driver, present wherever PostgreSQL is used

        async with self._turn:
            try:
                return await self._read(sql, params)
            except psycopg.OperationalError:
                # The server dropped the connection (a restart, an idle timeout): a read is
                # safe to repeat, once, on a new one.
                self.close()
            try:
                return await self._read(sql, params)
            except psycopg.Error as exc:
                self.close()
                raise Unavailable("the database connection was reset; retry the request") from exc

    async def _read(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        cursor = await self._conn.execute(sql, params)
        row: tuple[Any, ...] | None = await cursor.fetchone()
        return row

    def close(self) -> None:
        """Closed at once, from any thread or loop (libpq's own close, no round trip)."""
        if self._conn is not None:
            self._conn.pgconn.finish()
            self._conn = None


# The session type surfaces annotate with, so they need not import SQLAlchemy.
DbSession = Session
