"""The revoked_sessions table: console sessions ended by logout, until their cookie would expire."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.models import RevokedSession


class RevokedSessionStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, nonce: str, expires_at: datetime, now: datetime) -> None:
        """Keep `nonce` refused until `expires_at`; rows already past theirs are dropped meanwhile."""
        try:
            async with self._sessions.begin() as session:
                await session.execute(delete(RevokedSession).where(RevokedSession.expires_at <= now))
                session.add(RevokedSession(nonce=nonce, expires_at=expires_at))
        except IntegrityError:  # logged out twice (two tabs, two replicas): already kept
            pass

    async def contains(self, nonce: str, now: datetime) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(RevokedSession.nonce).where(RevokedSession.nonce == nonce, RevokedSession.expires_at > now)
            )
        return found is not None
