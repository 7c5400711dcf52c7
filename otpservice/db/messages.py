"""The messages table (every SMS we were asked to send), its outbox and its status history."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.core.statuses import CODE_KIND  # claimed before plain messages (SPEC 9, "codes first")
from otpservice.db.models import Message, MessageEvent, MessagePart


@dataclass(frozen=True)
class Outcome:
    """What one attempt (or a lease found expired) leaves on a message: its new status and
    the history rows it adds (`before`: an earlier row, e.g. `ambiguous` ahead of `queued`)."""

    status: str
    provider: str | None = None
    provider_sid: str | None = None
    provider_status: str | None = None
    segments: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    detail: str | None = None
    next_attempt_at: datetime | None = None
    refused_by: str | None = None
    retry_provider: str | None = None
    ambiguous_count: int | None = None
    callback_url: str | None = None
    parts: tuple[str, ...] = ()
    before: tuple[str, ...] = field(default=())


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
        """By our id, the provider's sid, or the id of one of its parts."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Message).where(or_(Message.id == sid, Message.provider_sid == sid)).limit(1)
            )
            found = result.scalar_one_or_none()
            if found is None:
                part = select(MessagePart.message_id).where(MessagePart.provider_sid == sid).limit(1)
                found = (await session.execute(select(Message).where(Message.id.in_(part)))).scalar_one_or_none()
            return found

    async def history(self, message_id: str) -> Sequence[MessageEvent]:
        async with self._sessions() as session:
            result = await session.execute(
                select(MessageEvent).where(MessageEvent.message_id == message_id).order_by(MessageEvent.id)
            )
            return result.scalars().all()

    # --- outbox ---------------------------------------------------------------------------
    async def due_ids(self, now: datetime, limit: int) -> list[str]:
        """Due queued messages, verification codes first, then oldest due first."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Message.id)
                .where(Message.status == "queued", Message.next_attempt_at <= now)
                .order_by(case((Message.kind == CODE_KIND, 0), else_=1), Message.next_attempt_at)
                .limit(limit)
            )
            return list(result.scalars())

    async def claim(self, message_id: str, now: datetime, lease_until: datetime) -> Message | None:
        """Take a queued message for sending. The conditional UPDATE makes a claim exclusive
        across replicas: a second claimer finds the status changed and gets None."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == "queued", Message.next_attempt_at <= now)
                .values(status="sending", next_attempt_at=lease_until, updated_at=now, attempts=Message.attempts + 1)
            )
            if cast(CursorResult[Any], result).rowcount != 1:
                return None
            return await session.get(Message, message_id)

    async def expired_leases(self, now: datetime, limit: int = 100) -> list[Message]:
        """Messages left `sending` past their lease: their process died during the attempt."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Message).where(Message.status == "sending", Message.next_attempt_at < now).limit(limit)
            )
            return list(result.scalars())

    async def finish_attempt(
        self, message_id: str, now: datetime, outcome: Outcome, *, lease_expired_before: datetime | None = None
    ) -> bool:
        """Record the outcome of a claimed message's attempt. Only a `sending` message moves
        (with `lease_expired_before`: only one whose lease ended before that instant)."""
        values: dict[str, object] = {
            "status": outcome.status,
            "updated_at": now,
            "next_attempt_at": outcome.next_attempt_at,
            "error_code": outcome.error_code,
            "error_message": outcome.error_message,
            "retry_provider": outcome.retry_provider,
        }
        if outcome.status != "queued":
            values["body_ciphertext"] = None  # erased once sent or failed
        for name in (
            "provider",
            "provider_sid",
            "provider_status",
            "segments",
            "refused_by",
            "ambiguous_count",
            "callback_url",
        ):
            if getattr(outcome, name) is not None:
                values[name] = getattr(outcome, name)
        conditions = [Message.id == message_id, Message.status == "sending"]
        if lease_expired_before is not None:
            conditions.append(Message.next_attempt_at < lease_expired_before)
        async with self._sessions.begin() as session:
            result = await session.execute(update(Message).where(*conditions).values(**values))
            if cast(CursorResult[Any], result).rowcount != 1:
                return False
            for status in (*outcome.before, outcome.status):
                session.add(
                    MessageEvent(
                        message_id=message_id,
                        status=status,
                        provider=outcome.provider,
                        provider_status=outcome.provider_status,
                        error_code=outcome.error_code,
                        detail=outcome.detail,
                        created_at=now,
                    )
                )
            for part in outcome.parts[1:]:
                session.add(MessagePart(message_id=message_id, provider=outcome.provider or "", provider_sid=part))
            return True

    # --- delivery receipts -----------------------------------------------------------------
    async def advance_status(
        self,
        provider: str,
        provider_sid: str,
        status: str,
        allowed_from: Sequence[str],
        now: datetime,
        provider_status: str | None = None,
        error_code: str | None = None,
    ) -> bool:
        """Move to `status` only from an earlier state: late or repeated receipts change nothing.
        `provider_sid` may be the id of any part of a multi-part message."""
        async with self._sessions.begin() as session:
            message_id = (
                await session.execute(
                    select(Message.id).where(Message.provider_sid == provider_sid, Message.provider == provider)
                )
            ).scalar_one_or_none()
            if message_id is None:
                message_id = (
                    await session.execute(
                        select(MessagePart.message_id)
                        .where(MessagePart.provider_sid == provider_sid, MessagePart.provider == provider)
                        .limit(1)
                    )
                ).scalar_one_or_none()
            if message_id is None:
                return False
            values: dict[str, object] = {"status": status, "updated_at": now, "provider_status": provider_status}
            if error_code is not None:
                values["error_code"] = error_code
            result = await session.execute(
                update(Message).where(Message.id == message_id, Message.status.in_(allowed_from)).values(**values)
            )
            if cast(CursorResult[Any], result).rowcount != 1:
                return False
            session.add(
                MessageEvent(
                    message_id=message_id,
                    status=status,
                    provider=provider,
                    provider_status=provider_status,
                    error_code=error_code,
                    created_at=now,
                )
            )
            return True

    async def fail_expired_leases(self, now: datetime, detail: str) -> int:
        """Queue off: messages left `sending` past their lease end `failed`, never sent again."""
        failed = 0
        for message in await self.expired_leases(now, limit=10_000):
            failed += await self.finish_attempt(
                message.id,
                now,
                Outcome(
                    status="failed",
                    provider=message.provider,
                    error_code="lease_expired",
                    error_message=detail,
                    detail=detail,
                    before=("ambiguous",),
                ),
                lease_expired_before=now,
            )
        return failed

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete finished messages created before `cutoff`, with their history; queued ones stay."""
        async with self._sessions.begin() as session:
            old = select(Message.id).where(Message.created_at < cutoff, Message.status.not_in(("queued", "sending")))
            await session.execute(delete(MessageEvent).where(MessageEvent.message_id.in_(old)))
            await session.execute(delete(MessagePart).where(MessagePart.message_id.in_(old)))
            result = await session.execute(delete(Message).where(Message.id.in_(old)))
            return cast(CursorResult[Any], result).rowcount or 0


def _event_of(message: Message) -> MessageEvent:
    return MessageEvent(
        message_id=message.id,
        status=message.status,
        provider=message.provider,
        provider_status=message.provider_status,
        error_code=message.error_code,
        created_at=message.created_at,
    )
