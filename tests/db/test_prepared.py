"""Prepared statements (asyncpg itself on PostgreSQL) and the transactions they share, and
the grouped read of a start, on real databases."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from otpservice.db.engine import begin_core, connect_core, make_engine, make_sessionmaker
from otpservice.db.group import GroupRead
from otpservice.db.messages import MessageStore
from otpservice.db.migrate import upgrade_to_head
from otpservice.db.models import Message, Verification
from otpservice.db.prepared import Prepared, execute, fetch, insert_of
from otpservice.db.verifications import VerificationStore
from tests.db.test_group import count, message
from tests.db.test_verifications import NOW, pending

MESSAGES = Message.__table__


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade_to_head, database_url)
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_an_insert_takes_the_column_defaults_it_was_not_given(engine: AsyncEngine) -> None:
    row = {"id": "MS" + "1" * 32, "provider": "twilio", "receiver": "+393331234567", "segments": 1}
    row |= {"status": "sent", "created_at": pending().created_at, "updated_at": pending().created_at}
    async with begin_core(make_sessionmaker(engine)) as connection:
        assert await execute(connection, insert_of(MESSAGES, row), row) == 1  # type: ignore[arg-type]
    stored = await MessageStore(make_sessionmaker(engine)).get(row["id"])
    assert stored is not None and stored.kind == "sms" and stored.attempts == 0  # the model's defaults
    assert stored.created_at == row["created_at"]  # an aware UTC datetime, as it went in


async def test_a_transaction_rolls_back_both_kinds_of_statement(engine: AsyncEngine) -> None:
    """A Prepared INSERT and a SQLAlchemy one in one transaction: an error after both undoes both."""
    sessions = make_sessionmaker(engine)
    first, second = message(1), message(2)
    row = {
        column.key: getattr(first, column.key) for column in MESSAGES.columns if getattr(first, column.key) is not None
    }
    with pytest.raises(RuntimeError):
        async with begin_core(sessions) as connection:
            await execute(connection, insert_of(MESSAGES, row), row)  # type: ignore[arg-type]
            await connection.execute(insert(MESSAGES), {**row, "id": second.id})  # type: ignore[arg-type]
            raise RuntimeError("after both")
    assert await count(engine, Message) == 0
    async with begin_core(sessions) as connection:  # the connection went back clean
        await execute(connection, insert_of(MESSAGES, row), row)  # type: ignore[arg-type]
    assert await count(engine, Message) == 1


async def test_a_duplicate_is_an_integrity_error_on_both_backends(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    row = {column.key: getattr(message(1), column.key) for column in MESSAGES.columns}
    row = {key: value for key, value in row.items() if value is not None}
    async with begin_core(sessions) as connection:
        await execute(connection, insert_of(MESSAGES, row), row)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        async with begin_core(sessions) as connection:
            await execute(connection, insert_of(MESSAGES, row), row)  # type: ignore[arg-type]
    async with connect_core(sessions) as connection:
        rows = await fetch(connection, Prepared(select(MESSAGES.c.id)), {})
    assert [found["id"] for found in rows] == [row["id"]]


async def test_a_postgres_connection_killed_mid_transaction_is_replaced(postgres_database: str) -> None:
    await asyncio.to_thread(upgrade_to_head, postgres_database)
    engine = make_engine(postgres_database)
    sessions = make_sessionmaker(engine)
    row = {column.key: getattr(message(77), column.key) for column in MESSAGES.columns}
    row = {key: value for key, value in row.items() if value is not None}
    try:
        with pytest.raises(OperationalError):
            async with begin_core(sessions) as connection:
                pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                async with make_engine(postgres_database).connect() as admin:
                    await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                await execute(connection, insert_of(MESSAGES, row), row)  # type: ignore[arg-type]
        async with begin_core(sessions) as connection:  # a fresh connection, nothing half-done
            assert (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
            await execute(connection, insert_of(MESSAGES, row), row)  # type: ignore[arg-type]
        async with connect_core(sessions) as connection:
            assert (
                len(await fetch(connection, Prepared(select(MESSAGES.c.id).where(MESSAGES.c.id == row["id"])), {})) == 1
            )
    finally:
        await engine.dispose()


async def test_starts_of_the_moment_share_one_read_each_getting_its_own_number(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    store = VerificationStore(sessions)
    one, two = pending("+393331111111", index=1), pending("+393332222222", index=2)
    spent = pending("+393332222222", index=3)  # an earlier one of the same number, attempts spent
    spent.status, spent.created_at = "max_attempts_reached", NOW - timedelta(minutes=1)
    for verification in (one, two, spent):
        assert await store.add_pending(verification)
    numbers = ["+393331111111", "+393332222222", "+393333333333"] * 10
    found = await asyncio.gather(*(store.open_for(number) for number in numbers))
    assert [None if row is None else row.id for row in found] == [one.id, two.id, None] * 10
    assert getattr(await store.open_for("+393332222222"), "id", None) == two.id  # the latest of the number's open ones


async def test_a_grouped_read_sees_what_was_written_before_it_was_asked(engine: AsyncEngine) -> None:
    """A key asked for while a query is in flight waits for the next query, not the old answer."""
    sessions = make_sessionmaker(engine)
    queries: list[list[str]] = []
    gate = asyncio.Event()

    async def read_many(connection: AsyncConnection, keys: list[str]) -> dict[str, int]:
        queries.append(keys)
        if len(queries) == 1:
            await gate.wait()  # the first query is in flight while the row is written
        total = (await connection.execute(select(func.count()).select_from(Verification))).scalar_one()
        return dict.fromkeys(keys, int(total))

    reads: GroupRead[str, int] = GroupRead(sessions, read_many, lanes=1)
    first = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0.05)
    assert await VerificationStore(sessions).add_pending(pending())
    second = asyncio.create_task(reads.get("a"))
    gate.set()
    assert await first in (0, 1) and await second == 1
    assert queries == [["a"], ["a"]]


async def test_a_failed_grouped_read_fails_each_of_its_callers(engine: AsyncEngine) -> None:
    async def broken(connection: AsyncConnection, keys: list[str]) -> dict[str, int]:
        await connection.execute(text("SELECT * FROM no_such_table"))
        return {}

    reads: GroupRead[str, int] = GroupRead(make_sessionmaker(engine), broken)
    results = await asyncio.gather(reads.get("a"), reads.get("b"), return_exceptions=True)
    assert all(isinstance(result, Exception) for result in results)
