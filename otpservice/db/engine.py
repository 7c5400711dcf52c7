"""Engine creation: SQLite in WAL mode with a busy timeout, or PostgreSQL (asyncpg).

Every wait on the database is bounded by the engine's `timeout` (DB_TIMEOUT): a connection
from the pool, a new connection, each statement, SQLite's busy wait and its write turn. A
statement that timed out or was cancelled closes its connection at once (the pool opens a
fresh one), so a database that hangs never hands back a connection still waiting on it.
"""

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine.interfaces import DBAPIConnection, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from otpservice.db.prepared import postgres_transaction

DEFAULT_TIMEOUT_SECONDS = 3.0
IDLE_PING_SECONDS = 5.0


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """`timeout` (seconds, default DEFAULT_TIMEOUT_SECONDS) bounds every wait on the database;
    other keywords go to create_async_engine."""
    timeout = float(kwargs.pop("timeout", DEFAULT_TIMEOUT_SECONDS))
    if url.startswith("sqlite") and ":memory:" not in url and "mode=memory" not in url:
        # Each aiosqlite connection is a thread: a pool smaller than the concurrent reads
        # opens and closes threads under load (the default keeps 5).
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": timeout}, **kwargs)
        event.listen(engine.sync_engine, "connect", partial(_sqlite_pragmas, busy_ms=int(timeout * 1000)))
        _timeouts[engine] = timeout
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_timeout", timeout)
    connect_args = {"timeout": timeout, "command_timeout": timeout, **kwargs.pop("connect_args", {})}
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    _timeouts[engine] = timeout
    event.listen(engine.sync_engine, "handle_error", _drop_stuck_connection)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine.sync_engine, "connect", _mark_used)
        event.listen(engine.sync_engine, "checkin", _mark_used)
        event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _mark_used(_dbapi_connection: Any, record: Any) -> None:
    record.info["used_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling for connections that sat idle: SQLAlchemy's
    pool_pre_ping costs three round trips per checkout on asyncpg (BEGIN, ping, ROLLBACK),
    on every checkout. A connection used within IDLE_PING_SECONDS is taken as it is (a
    disconnect found by its statement still invalidates the pool)."""
    used_at = record.info.get("used_at")
    if used_at is not None and time.monotonic() - used_at < IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and not driver.is_closed():
            driver.terminate()  # a hung server: no graceful close to wait for
        raise exc.DisconnectionError() from error  # the pool opens a fresh connection


def _drop_stuck_connection(context: ExceptionContext) -> None:
    """A statement that timed out, was cancelled or lost its socket: its connection may still
    wait on the database. Closed here without a goodbye (SQLAlchemy's graceful close would wait
    on a hung server up to 2 s more) and invalidated, never handed back to the pool."""
    error = context.original_exception
    if isinstance(error, Exception) and not isinstance(error, OSError):
        return
    context.is_disconnect = True
    raw = getattr(context.connection, "connection", None)
    driver = getattr(raw, "driver_connection", None)
    if driver is not None and hasattr(driver, "terminate") and not driver.is_closed():
        driver.terminate()


def timeout_of(engine: AsyncEngine) -> float:
    return _timeouts.get(engine, DEFAULT_TIMEOUT_SECONDS)


_timeouts: "weakref.WeakKeyDictionary[AsyncEngine, float]" = weakref.WeakKeyDictionary()


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry, *, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SerializedWrites(async_sessionmaker[AsyncSession]):
    """SQLite has one writer at a time: writers queued in its busy handler sleep and retry,
    which gave seconds of p99 under load (bench/RESULTS.md). Here write transactions
    (`begin()`) take turns on an asyncio lock instead; reads stay concurrent (WAL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()
        self._timeout = timeout_of(engine)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        async with self._write_turn(), super().begin() as session:
            yield session

    @asynccontextmanager
    async def begin_core(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_turn(), _engine_of(self).begin() as connection:
            yield connection

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[None]:
        """The write lock, waited for at most the engine's timeout (a writer stuck on a locked
        database file must not queue every other writer behind it for longer)."""
        try:
            await asyncio.wait_for(self._write_lock.acquire(), self._timeout)
        except TimeoutError:
            raise exc.TimeoutError(f"no write turn on the database within {self._timeout:g} s") from None
        try:
            yield
        finally:
            self._write_lock.release()


def _engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


@asynccontextmanager
async def begin_core(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    """A Core write transaction (no ORM session: the hot path's statements cost less so),
    taking its turn like `sessions.begin()` does on SQLite."""
    engine = _engine_of(sessions)
    if isinstance(sessions, SerializedWrites):
        async with sessions.begin_core() as connection:
            yield connection
    elif engine.dialect.name == "postgresql":
        # Opened on asyncpg itself, so that Prepared statements (run on asyncpg) and
        # SQLAlchemy's own (autocommit: it opens no transaction of its own) share it.
        async with _autocommit(engine).connect() as connection, postgres_transaction(connection):
            yield connection
    else:
        async with engine.begin() as connection:
            yield connection


@asynccontextmanager
async def connect_core(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    """A Core read (no write lock: reads stay concurrent). On PostgreSQL in autocommit: a
    single SELECT needs no BEGIN before it nor ROLLBACK after it (two round trips fewer)."""
    engine = _engine_of(sessions)
    if engine.dialect.name == "postgresql":
        engine = _autocommit(engine)
    async with engine.connect() as connection:
        yield connection


_autocommit_engines: "weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine]" = weakref.WeakKeyDictionary()


def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    found = _autocommit_engines.get(engine)
    if found is None:
        found = _autocommit_engines[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


def values_of(instance: Any) -> dict[str, Any]:
    """An ORM instance's set columns, for a Core INSERT (unset ones keep their defaults)."""
    columns = instance.__table__.columns
    return {column.key: value for column in columns if (value := getattr(instance, column.key)) is not None}


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    if engine.dialect.name == "sqlite":
        return SerializedWrites(engine)
    return async_sessionmaker(engine, expire_on_commit=False)
