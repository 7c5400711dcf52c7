"""The verify_services table: the Services of the Twilio-compatible API (SPEC 11)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.models import VerifyService


class ServiceStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, sid: str, friendly_name: str, code_length: int, now: datetime) -> VerifyService | None:
        """The new service; None when `sid` is taken already."""
        service = VerifyService(
            sid=sid, friendly_name=friendly_name, code_length=code_length, created_at=now, updated_at=now
        )
        try:
            async with self._sessions.begin() as session:
                session.add(service)
        except IntegrityError:
            return None
        return service

    async def get(self, sid: str) -> VerifyService | None:
        async with self._sessions() as session:
            return await session.get(VerifyService, sid)

    async def list_all(self) -> list[VerifyService]:
        async with self._sessions() as session:
            result = await session.execute(select(VerifyService).order_by(VerifyService.created_at))
            return list(result.scalars())
