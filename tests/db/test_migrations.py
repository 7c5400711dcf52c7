"""Alembic is the only way the schema is made: head must equal what the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from otpservice.db.engine import make_engine
from otpservice.db.migrate import head_revisions, is_at_head, upgrade_to_head
from otpservice.db.models import Base


async def test_upgrade_gives_exactly_the_models(database_url: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade_to_head, database_url)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == []
        assert await is_at_head(engine, database_url)
        assert head_revisions(database_url)
    finally:
        await engine.dispose()


async def test_empty_database_is_not_at_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert not await is_at_head(engine, database_url)
    finally:
        await engine.dispose()
