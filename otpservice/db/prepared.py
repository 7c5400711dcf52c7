"""The hot path's statements: built once with bind parameters and, on PostgreSQL, run on the
asyncpg connection itself.

SQLAlchemy's `execute` costs about 0.13 ms of Python per statement over asyncpg's own
(greenlet hand-off, cache key, parameter and result processing; bench/RESULTS.md), and a
start runs four. A `Prepared` statement is compiled once for PostgreSQL; its SQL, parameter
order and constants are kept and it runs as `asyncpg.Connection.fetch`/`execute`, inside the
transaction that `begin_core` opened on the same connection. asyncpg's errors come out as
SQLAlchemy's (IntegrityError, OperationalError), so callers see one kind of error on both
backends. SQLite runs the same statements through SQLAlchemy.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

T = TypeVar("T")
Row = Mapping[str, Any]


class Prepared:
    """A statement whose parameters are all named bind parameters (no expanding IN)."""

    def __init__(self, statement: Executable, *, column_keys: tuple[str, ...] | None = None) -> None:
        self.statement = statement
        self._column_keys = column_keys
        self._postgres: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def for_postgres(self, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """(SQL with $n placeholders, parameter names in order, constants and column defaults)."""
        if self._postgres is None:
            keys = list(self._column_keys) if self._column_keys is not None else None
            compiled = self.statement.compile(dialect=dialect, column_keys=keys)  # type: ignore[attr-defined]
            names = tuple(compiled.positiontup or ())
            constants = {name: value for name, value in compiled.params.items() if value is not None}
            table = getattr(self.statement, "table", None)
            if keys is not None and isinstance(table, Table):  # an INSERT: the columns' own defaults
                for name in names:
                    default = table.c[name].default if name in table.c else None
                    if name in keys or default is None:
                        continue
                    if not getattr(default, "is_scalar", False):  # computed per row: not kept here
                        raise ValueError(f"{table.name}.{name}: only scalar defaults can be prepared")
                    constants[name] = default.arg
            self._postgres = (str(compiled), names, constants)
        return self._postgres


def insert_of(table: Table, row: Row) -> Prepared:
    """The INSERT of `table` for a row with these columns set (one per set of columns)."""
    return _insert(table, tuple(row))


@cache
def _insert(table: Table, columns: tuple[str, ...]) -> Prepared:
    return Prepared(insert(table), column_keys=columns)


async def fetch(connection: AsyncConnection, prepared: Prepared, params: Row) -> list[Row]:
    """The rows a SELECT or an UPDATE ... RETURNING gives."""
    if connection.dialect.name != "postgresql":
        result = await connection.execute(prepared.statement, dict(params))
        return [dict(row._mapping) for row in result]
    sql, args = _arguments(connection, prepared, params)
    records = await _guarded(connection, sql, _driver(connection).fetch(sql, *args))
    return [dict(record) for record in records]


async def execute(connection: AsyncConnection, prepared: Prepared, params: Row) -> int:
    """Run a statement that returns no rows; the number of rows it changed."""
    if connection.dialect.name != "postgresql":
        result = await connection.execute(prepared.statement, dict(params))
        return int(getattr(result, "rowcount", 0) or 0)
    sql, args = _arguments(connection, prepared, params)
    status = await _guarded(connection, sql, _driver(connection).execute(sql, *args))
    count = status.rsplit(" ", 1)[-1]  # "INSERT 0 1", "UPDATE 3"
    return int(count) if count.isdigit() else 0


@asynccontextmanager
async def postgres_transaction(connection: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """A transaction opened on the asyncpg connection of an autocommit SQLAlchemy connection:
    statements of both (Prepared ones and SQLAlchemy's own) run inside it. A connection whose
    rollback could not finish (cancelled, broken) is closed rather than handed back open."""
    raw = _driver(connection)
    if raw.is_in_transaction():  # left open by a caller that never finished: not ours to keep
        await raw.execute("ROLLBACK")
    transaction = raw.transaction()
    await _guarded(connection, "BEGIN", transaction.start())
    try:
        yield connection
    except BaseException:
        try:
            if not raw.is_closed():
                await transaction.rollback()
        except BaseException:
            raw.terminate()  # the pool finds it closed and replaces it
            await connection.invalidate()
        raise
    await _guarded(connection, "COMMIT", transaction.commit())


def _driver(connection: AsyncConnection) -> Any:
    return connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]


def _arguments(connection: AsyncConnection, prepared: Prepared, params: Row) -> tuple[str, list[Any]]:
    sql, names, constants = prepared.for_postgres(connection.dialect)
    return sql, [params[name] if name in params else constants.get(name) for name in names]


async def _guarded(connection: AsyncConnection, sql: str, call: Awaitable[T]) -> T:
    try:
        return await call
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(sql, None, error) from error
    except asyncpg.PostgresError as error:
        if not isinstance(error, asyncpg.PostgresConnectionError):
            raise DBAPIError(sql, None, error) from error
        await _drop(connection)
        raise OperationalError(sql, None, error, connection_invalidated=True) from error
    except (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as error:  # OSError: a timeout too
        await _drop(connection)
        raise OperationalError(sql, None, error, connection_invalidated=True) from error
    except BaseException:  # cancelled mid-statement: the connection may still wait for its answer
        await asyncio.shield(_drop(connection))
        raise


async def _drop(connection: AsyncConnection) -> None:
    """Close a connection that may still wait on the database, without a goodbye (a graceful
    close waits on a hung server), and take it out of the pool."""
    raw = _driver(connection)
    if not raw.is_closed():
        raw.terminate()
    await connection.invalidate()
