"""The opt_outs table: numbers that replied STOP. Read by every plain send, on every replica."""

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.messaging_models import OptOut


class OptOutStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self._sessions = sessions
        self._insert = pg_insert if dialect == "postgresql" else sqlite_insert

    async def add(self, number: str, keyword: str, provider: str, now: datetime) -> None:
        """Opt the number out (again: its first opt-out is the one kept)."""
        statement = (
            self._insert(OptOut)
            .values(number=number, keyword=keyword, provider=provider, created_at=now)
            .on_conflict_do_nothing(index_elements=["number"])
        )
        async with self._sessions.begin() as session:
            await session.execute(statement)

    async def remove(self, number: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(OptOut).where(OptOut.number == number))

    async def contains(self, number: str) -> bool:
        async with self._sessions() as session:
            found = await session.execute(select(OptOut.number).where(OptOut.number == number))
            return found.first() is not None

    async def newest(self, limit: int = 200) -> tuple[list[OptOut], int]:
        """The latest opt-outs (the console's list) and how many there are in all."""
        async with self._sessions() as session:
            rows = (await session.execute(select(OptOut).order_by(OptOut.created_at.desc()).limit(limit))).scalars()
            listed = list(rows)
            total = (await session.execute(select(func.count()).select_from(OptOut))).scalar_one()
        return listed, int(total)
