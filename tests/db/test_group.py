"""Group commit and the PostgreSQL idle ping, on real databases."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from otpservice.db import engine as engine_module
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.group import group_commit
from otpservice.db.messages import MessageStore, PendingTaken
from otpservice.db.migrate import upgrade_to_head
from otpservice.db.models import Message, Verification
from tests.db.test_verifications import NOW, pending


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade_to_head, database_url)
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def message(index: int, verification_id: str | None = None) -> Message:
    return Message(
        id=f"MS{index:032x}",
        provider="twilio",
        kind="otp",
        receiver="+393331234567",
        sender=None,
        segments=1,
        status="sending",
        attempts=1,
        ambiguous_count=0,
        verification_id=verification_id,
        created_at=NOW,
        updated_at=NOW,
        next_attempt_at=NOW,
    )


async def count(engine: AsyncEngine, model: type[Message] | type[Verification]) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(model))).scalar_one())


async def test_writes_sharing_a_transaction_each_get_their_own_outcome(engine: AsyncEngine) -> None:
    """Concurrent starts for one number land in one batch: the second's verification breaks
    the shared transaction, and only that start learns of it; the others are committed."""
    store = MessageStore(make_sessionmaker(engine))
    first, rival = pending(index=1), pending(index=2)  # same number: the second loses
    other = pending("+393337654321", index=3)
    results = await asyncio.gather(
        store.add(message(1, first.id), verification=first),
        store.add(message(2, rival.id), verification=rival),
        store.add(message(3, other.id), verification=other),
        return_exceptions=True,
    )
    assert results[0] is None and isinstance(results[1], PendingTaken) and results[2] is None
    assert await count(engine, Verification) == 2 and await count(engine, Message) == 2


async def test_a_failing_write_alone_raises_its_own_error(engine: AsyncEngine) -> None:
    group = group_commit(make_sessionmaker(engine))

    async def fine(connection: AsyncConnection) -> int:
        return int((await connection.execute(text("SELECT 7"))).scalar_one())

    async def broken(connection: AsyncConnection) -> int:
        await connection.execute(text("SELECT * FROM no_such_table"))
        return 0

    results = await asyncio.gather(group.run(fine), group.run(broken), group.run(fine), return_exceptions=True)
    assert results[0] == 7 and results[2] == 7 and isinstance(results[1], Exception)


async def test_an_idle_postgres_connection_killed_meanwhile_is_replaced(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No pool_pre_ping: a connection idle past IDLE_PING_SECONDS is pinged at checkout."""
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    engine = make_engine(postgres_database)
    try:
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        other = make_engine(postgres_database)
        async with other.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await other.dispose()
        async with engine.connect() as connection:  # the dead one is found and replaced
            assert (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await engine.dispose()
