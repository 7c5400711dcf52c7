"""The messages table: every SMS we were asked to send."""

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.models import Message


class MessageStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, message: Message) -> None:
        async with self._sessions.begin() as session:
            session.add(message)

    async def get(self, sid: str) -> Message | None:
        """By our id or by the provider's sid."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Message).where(or_(Message.id == sid, Message.provider_sid == sid)).limit(1))
            return result.scalar_one_or_none()

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete finished messages created before `cutoff`; queued ones stay."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Message).where(Message.created_at < cutoff,
                                      Message.status.not_in(("queued", "sending"))))
            return result.rowcount or 0
