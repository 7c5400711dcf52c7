"""The breaker's tests run on SQLite and PostgreSQL, at the latest migration."""

import asyncio

import pytest

from otpservice.db.migrate import upgrade_to_head


@pytest.fixture
async def migrated_url(database_url: str) -> str:
    await asyncio.to_thread(upgrade_to_head, database_url)
    return database_url
