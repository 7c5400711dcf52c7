"""The pending_alerts table: alert webhooks kept until their receiver takes them."""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.leases import claim
from otpservice.db.models import PendingAlert


class AlertStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, alert: PendingAlert) -> None:
        async with self._sessions.begin() as session:
            session.add(alert)

    async def reschedule(self, alert_id: str, attempts: int, next_attempt_at: datetime, lease_until: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(PendingAlert)
                .where(PendingAlert.id == alert_id)
                .values(attempts=attempts, next_attempt_at=next_attempt_at, lease_until=lease_until)
            )

    async def remove(self, alert_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(PendingAlert).where(PendingAlert.id == alert_id))

    async def release(self, alert_ids: list[str], now: datetime) -> None:
        """A process stopping cleanly hands its alerts over at once (no lease to wait out)."""
        if alert_ids:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(PendingAlert).where(PendingAlert.id.in_(alert_ids)).values(lease_until=now)
                )

    async def take_abandoned(self, now: datetime, lease_until: datetime, limit: int = 100) -> list[PendingAlert]:
        """Alerts whose process stopped holding them; each taken by one process only (the
        conditional UPDATE decides between replicas)."""
        ids = select(PendingAlert.id).where(PendingAlert.lease_until <= now).limit(limit)
        return await claim(self._sessions, PendingAlert, ids, now, lease_until)
