"""The app_webhooks table: POSTs to the app (status callbacks, inbound forwards) waiting for a
2xx. A process claims a due row by a conditional UPDATE of its lease (one replica sends it)."""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.leases import claim
from otpservice.db.messaging_models import AppWebhook


class AppWebhookStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, *rows: AppWebhook) -> None:
        async with self._sessions.begin() as session:
            session.add_all(rows)

    async def take_due(self, now: datetime, lease_until: datetime, limit: int = 20) -> list[AppWebhook]:
        ids = (
            select(AppWebhook.id)
            .where(AppWebhook.next_attempt_at <= now, AppWebhook.lease_until <= now)
            .order_by(AppWebhook.created_at)
            .limit(limit)
        )
        return await claim(self._sessions, AppWebhook, ids, now, lease_until)

    async def reschedule(self, webhook_id: str, attempts: int, next_attempt_at: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(AppWebhook)
                .where(AppWebhook.id == webhook_id)
                .values(attempts=attempts, next_attempt_at=next_attempt_at, lease_until=next_attempt_at)
            )

    async def remove(self, webhook_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(AppWebhook).where(AppWebhook.id == webhook_id))
