"""The inbound_messages table: SMS received on our numbers."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.messaging_models import InboundMessage


class InboundStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, message: InboundMessage) -> None:
        async with self._sessions.begin() as session:
            session.add(message)
