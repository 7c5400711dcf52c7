"""Which errors mean "the database is not there" (refused, hung, gone mid-statement), as
opposed to a bug or a constraint: those are answered 503 `database_unavailable`."""

import sqlite3

import asyncpg
from sqlalchemy import exc

_OUTAGES: tuple[type[BaseException], ...] = (
    exc.OperationalError,  # refused, locked (SQLite), connection lost; ours for timeouts (prepared.py)
    exc.InterfaceError,
    exc.TimeoutError,  # no connection from the pool, no write turn (engine.py)
    exc.DisconnectionError,
    OSError,  # a connection refused or timed out, raised by the driver as it is
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.OperatorInterventionError,  # the server shuts down
)


def is_outage(error: BaseException) -> bool:
    """`error`, or one it was raised from, says the database cannot be used now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, exc.OperationalError) and _sqlite_statement_error(current):
            return False
        if isinstance(current, _OUTAGES):
            return True
        if isinstance(current, exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


# SQLite says OperationalError of a missing table as of a locked file: only these are the file.
_SQLITE_OUTAGES = ("database is locked", "database table is locked", "unable to open database", "disk i/o error")


def _sqlite_statement_error(error: exc.OperationalError) -> bool:
    if not isinstance(error.orig, sqlite3.OperationalError):
        return False
    text = str(error.orig).lower()
    return not any(outage in text for outage in _SQLITE_OUTAGES)
