"""The messages table (every SMS we were asked to send), its outbox and its status history."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.models import Message, MessageEvent


class MessageStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, message: Message) -> None:
        """Insert; a history row too, unless it is `sending` (its outcome writes the first one)."""
        async with self._sessions.begin() as session:
            session.add(message)
            if message.status != "sending":
                session.add(_event_of(message))

    async def get(self, sid: str) -> Message | None:
        """By our id or by the provider's sid."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Message).where(or_(Message.id == sid, Message.provider_sid == sid)).limit(1))
            return result.scalar_one_or_none()

    async def history(self, message_id: str) -> Sequence[MessageEvent]:
        async with self._sessions() as session:
            result = await session.execute(select(MessageEvent).where(MessageEvent.message_id == message_id)
                                           .order_by(MessageEvent.id))
            return result.scalars().all()

    # --- outbox ---------------------------------------------------------------------------
    async def due_ids(self, now: datetime, limit: int) -> list[str]:
        async with self._sessions() as session:
            result = await session.execute(
                select(Message.id).where(Message.status == "queued", Message.next_attempt_at <= now)
                .order_by(Message.next_attempt_at).limit(limit))
            return list(result.scalars())

    async def claim(self, message_id: str, now: datetime, lease_until: datetime) -> Message | None:
        """Take a queued message for sending. The conditional UPDATE makes a claim exclusive
        across replicas: a second claimer finds the status changed and gets None."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Message).where(Message.id == message_id, Message.status == "queued",
                                      Message.next_attempt_at <= now)
                .values(status="sending", next_attempt_at=lease_until, updated_at=now,
                        attempts=Message.attempts + 1))
            if result.rowcount != 1:
                return None
            return await session.get(Message, message_id)

    async def requeue_expired_leases(self, now: datetime) -> int:
        """Messages left `sending` by a crashed process go back to the queue."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Message).where(Message.status == "sending", Message.next_attempt_at < now)
                .values(status="queued", updated_at=now))
            return result.rowcount or 0

    async def finish_attempt(self, message_id: str, now: datetime, *, status: str,
                             provider: str | None = None, provider_sid: str | None = None,
                             provider_status: str | None = None, segments: int | None = None,
                             error_code: str | None = None, error_message: str | None = None,
                             next_attempt_at: datetime | None = None) -> bool:
        """Record the outcome of a claimed message's attempt: sent, failed, or queued again."""
        values: dict[str, object] = {"status": status, "updated_at": now, "next_attempt_at": next_attempt_at,
                                     "error_code": error_code, "error_message": error_message}
        if status != "queued":
            values["body_ciphertext"] = None  # erased once sent or failed
        for name, value in (("provider", provider), ("provider_sid", provider_sid),
                            ("provider_status", provider_status), ("segments", segments)):
            if value is not None:
                values[name] = value
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Message).where(Message.id == message_id, Message.status == "sending").values(**values))
            if result.rowcount != 1:
                return False
            session.add(MessageEvent(message_id=message_id, status=status, provider=provider,
                                     provider_status=provider_status, error_code=error_code, created_at=now))
            return True

    # --- delivery receipts -----------------------------------------------------------------
    async def advance_status(self, provider: str, provider_sid: str, status: str, allowed_from: Sequence[str],
                             now: datetime, provider_status: str | None = None,
                             error_code: str | None = None) -> bool:
        """Move to `status` only from an earlier state: late or repeated receipts change nothing."""
        async with self._sessions.begin() as session:
            message_id = (await session.execute(
                select(Message.id).where(Message.provider_sid == provider_sid, Message.provider == provider)
            )).scalar_one_or_none()
            if message_id is None:
                return False
            values: dict[str, object] = {"status": status, "updated_at": now, "provider_status": provider_status}
            if error_code is not None:
                values["error_code"] = error_code
            result = await session.execute(
                update(Message).where(Message.id == message_id, Message.status.in_(allowed_from)).values(**values))
            if result.rowcount != 1:
                return False
            session.add(MessageEvent(message_id=message_id, status=status, provider=provider,
                                     provider_status=provider_status, error_code=error_code, created_at=now))
            return True

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete finished messages created before `cutoff`, with their history; queued ones stay."""
        async with self._sessions.begin() as session:
            old = select(Message.id).where(Message.created_at < cutoff,
                                           Message.status.not_in(("queued", "sending")))
            await session.execute(delete(MessageEvent).where(MessageEvent.message_id.in_(old)))
            result = await session.execute(delete(Message).where(Message.id.in_(old)))
            return result.rowcount or 0


def _event_of(message: Message) -> MessageEvent:
    return MessageEvent(message_id=message.id, status=message.status, provider=message.provider,
                        provider_status=message.provider_status, error_code=message.error_code,
                        created_at=message.created_at)
