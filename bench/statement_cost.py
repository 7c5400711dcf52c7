"""CPU per statement on PostgreSQL: SQLAlchemy Core's execute against asyncpg's own.

    .venv/bin/python bench/statement_cost.py [--url postgresql://postgres@127.0.0.1:5432/test] [-n 3000]

Why db/prepared.py runs the hot path's statements on asyncpg (bench/RESULTS.md). Makes a
scratch table, measures process CPU time per operation in one process, drops the table.
"""

import argparse
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import uvloop
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

METADATA = MetaData()
TABLE = Table("bench_statement_cost", METADATA, Column("id", String, primary_key=True), Column("n", Integer))
SQL = "INSERT INTO bench_statement_cost (id, n) VALUES ($1, $2)"


async def timed(label: str, count: int, operation: Callable[[int], Awaitable[None]]) -> None:
    started = time.process_time()
    for index in range(count):
        await operation(index)
    print(f"{label:<62} {(time.process_time() - started) / count * 1000:6.3f} ms CPU per operation")


async def measure(engine: AsyncEngine, url: str, count: int) -> None:
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as held:

        async def sqlalchemy_insert(index: int) -> None:
            await held.execute(insert(TABLE), {"id": uuid.uuid4().hex, "n": index})

        async def driver_insert(index: int) -> None:
            await held.exec_driver_sql(SQL, (uuid.uuid4().hex, index))

        await timed("INSERT, SQLAlchemy Core execute (held connection)", count, sqlalchemy_insert)
        await timed("INSERT, SQLAlchemy exec_driver_sql (held connection)", count, driver_insert)
    raw = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:

        async def asyncpg_insert(index: int) -> None:
            await raw.execute(SQL, uuid.uuid4().hex, index)

        await timed("INSERT, asyncpg execute (held connection)", count, asyncpg_insert)
    finally:
        await raw.close()

    async def sqlalchemy_transaction(index: int) -> None:
        async with engine.begin() as connection:
            for _ in range(2):
                await connection.execute(insert(TABLE), {"id": uuid.uuid4().hex, "n": index})

    async def asyncpg_transaction(index: int) -> None:
        async with autocommit.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            async with driver.transaction():
                for _ in range(2):
                    await driver.execute(SQL, uuid.uuid4().hex, index)

    await timed("checkout + BEGIN + 2 INSERTs + COMMIT, SQLAlchemy", count, sqlalchemy_transaction)
    await timed("checkout + BEGIN + 2 INSERTs + COMMIT, statements on asyncpg", count, asyncpg_transaction)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("-n", type=int, default=3000, help="operations per measurement")
    options = parser.parse_args()
    engine = create_async_engine(options.url, pool_size=5)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(METADATA.drop_all)
            await connection.run_sync(METADATA.create_all)
        await measure(engine, options.url, options.n)
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(METADATA.drop_all)
        await engine.dispose()


if __name__ == "__main__":
    uvloop.run(main())
