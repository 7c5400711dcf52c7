"""The messages table (every SMS we were asked to send), its outbox and its status history."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, case, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from otpservice.core.statuses import CODE_KIND  # claimed before plain messages (SPEC 9, "codes first")
from otpservice.db.engine import values_of
from otpservice.db.group import group_commit
from otpservice.db.models import Message, MessageEvent, MessagePart, Verification
from otpservice.db.prepared import Prepared, execute, insert_of

# Core statements on the hot path use the mapped classes' tables.
_MESSAGES, _EVENTS = cast(Table, Message.__table__), cast(Table, MessageEvent.__table__)
_PARTS, _VERIFICATIONS = cast(Table, MessagePart.__table__), cast(Table, Verification.__table__)


class PendingTaken(Exception):
    """The number has a pending verification already: a concurrent start won the race."""


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

    async def add(self, message: Message, *, verification: Verification | None = None) -> None:
        """Insert; a history row too, unless it is `sending` (its outcome writes the first one).
        With `verification`: that new verification in the same transaction (the outbox: the
        verification and its message row are written together, before any provider call);
        PendingTaken when its number has a pending one already."""
        rows = (
            values_of(verification) if verification is not None else None,
            values_of(message),
            values_of(_event_of(message)) if message.status != "sending" else None,
        )

        async def work(connection: AsyncConnection) -> None:
            for table, row in zip((_VERIFICATIONS, _MESSAGES, _EVENTS), rows, strict=True):
                if row is not None:
                    await execute(connection, insert_of(table, row), row)

        try:
            await group_commit(self._sessions).run(work)
        except IntegrityError:
            if verification is None:
                raise
            raise PendingTaken() from None

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

    async def attempts_of(self, verification_id: str, last_message_id: str | None) -> list[tuple[datetime, str]]:
        """A verification's sends, oldest first: when, and on which channel (a fallback shows
        here). Sends in the same instant: its last message last."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Message.created_at, Message.channel)
                .where(Message.verification_id == verification_id)
                .order_by(Message.created_at, case((Message.id == (last_message_id or ""), 1), else_=0), Message.id)
            )
            return [(at, channel) for at, channel in result.all()]

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
        events = [
            {
                "message_id": message_id,
                "status": status,
                "provider": outcome.provider,
                "provider_status": outcome.provider_status,
                "error_code": outcome.error_code,
                "detail": outcome.detail,
                "created_at": now,
            }
            for status in (*outcome.before, outcome.status)
        ]
        parts = [
            {"message_id": message_id, "provider": outcome.provider or "", "provider_sid": part}
            for part in outcome.parts[1:]
        ]

        plain = len(events) == 1 and not parts and lease_expired_before is None  # an attempt's usual outcome

        async def work(connection: AsyncConnection) -> bool:
            if plain and connection.dialect.name == "postgresql":
                return await _move_with_event(connection, message_id, values, events[0])
            moving = update(_MESSAGES).where(*conditions).values(**values)
            result = await connection.execute(moving)
            if result.rowcount != 1:
                return False
            await connection.execute(insert(_EVENTS), events[0] if len(events) == 1 else events)
            if parts:
                await connection.execute(insert(_PARTS), parts)
            return True

        return await group_commit(self._sessions).run(work)

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


async def _move_with_event(
    connection: AsyncConnection, message_id: str, values: dict[str, object], event: dict[str, Any]
) -> bool:
    """PostgreSQL: a `sending` message's UPDATE and its history row in one statement (one
    round trip fewer); the row is inserted only when the UPDATE moved the message."""
    names = [name for name in event if name != "message_id"]
    moving = _moving(tuple(values), tuple(names))
    params = {"m_id": message_id, **{"v_" + k: v for k, v in values.items()}, **{"e_" + k: event[k] for k in names}}
    return await execute(connection, moving, params) == 1


@cache
def _moving(value_names: tuple[str, ...], event_names: tuple[str, ...]) -> Prepared:
    """One prepared statement per set of columns an outcome sets (a handful in all)."""
    moved = (
        update(_MESSAGES)
        .where(_MESSAGES.c.id == bindparam("m_id"), _MESSAGES.c.status == "sending")
        .values({name: bindparam("v_" + name, type_=_MESSAGES.c[name].type) for name in value_names})
        .returning(_MESSAGES.c.id)
        .cte("moved")
    )
    rows = select(moved.c.id, *(bindparam("e_" + name, type_=_EVENTS.c[name].type) for name in event_names))
    return Prepared(insert(_EVENTS).from_select(["message_id", *event_names], rows))


def _event_of(message: Message) -> MessageEvent:
    return MessageEvent(
        message_id=message.id,
        status=message.status,
        provider=message.provider,
        provider_status=message.provider_status,
        error_code=message.error_code,
        created_at=message.created_at,
    )
