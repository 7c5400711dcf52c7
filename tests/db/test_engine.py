"""SQLite engine settings and its in-process writer queue."""

import asyncio

from sqlalchemy import text

from otpservice.db.engine import SerializedWrites, make_engine, make_sessionmaker


async def test_sqlite_runs_in_wal_with_a_busy_timeout_of_db_timeout(sqlite_url: str) -> None:
    for engine, busy_ms in ((make_engine(sqlite_url), 3000), (make_engine(sqlite_url, timeout=1.5), 1500)):
        try:
            async with engine.connect() as connection:
                assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
                assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == busy_ms
        finally:
            await engine.dispose()


async def test_sqlite_write_transactions_take_turns(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    assert isinstance(sessions, SerializedWrites)
    inside, overlaps = 0, 0

    async def write(index: int) -> None:
        nonlocal inside, overlaps
        async with sessions.begin() as session:
            inside += 1
            overlaps += inside > 1
            await session.execute(text("CREATE TABLE IF NOT EXISTS t (i INTEGER)"))
            await asyncio.sleep(0.005)
            await session.execute(text("INSERT INTO t VALUES (:i)"), {"i": index})
            inside -= 1

    try:
        await asyncio.gather(*(write(index) for index in range(20)))
        async with sessions() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 20
        assert overlaps == 0
    finally:
        await engine.dispose()
