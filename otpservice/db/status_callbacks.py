"""The status_callbacks table: messages whose status changes the app asked to be told of,
and how far their history (message_events) has been handed to the webhook queue."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.messaging_models import StatusCallback
from otpservice.db.models import Message, MessageEvent

FINAL = ("delivered", "undelivered", "failed", "canceled")


@dataclass(frozen=True)
class Change:
    callback: StatusCallback
    message: Message
    event: MessageEvent


class StatusCallbackStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, row: StatusCallback) -> None:
        async with self._sessions.begin() as session:
            session.add(row)

    async def changes(self, limit: int = 200) -> list[Change]:
        """History rows not yet handed over, oldest first."""
        query = (
            select(StatusCallback, Message, MessageEvent)
            .join(Message, Message.id == StatusCallback.message_id)
            .join(
                MessageEvent,
                (MessageEvent.message_id == StatusCallback.message_id)
                & (MessageEvent.id > StatusCallback.last_event_id),
            )
            .order_by(MessageEvent.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [Change(callback, message, event) for callback, message, event in rows]

    async def advance(self, message_id: str, seen: int, last_event_id: int) -> bool:
        """Move the message's mark from `seen` to `last_event_id`; False when another process did."""
        async with self._sessions.begin() as session:
            moved = await session.execute(
                update(StatusCallback)
                .where(StatusCallback.message_id == message_id, StatusCallback.last_event_id == seen)
                .values(last_event_id=last_event_id)
            )
            return cast(CursorResult[Any], moved).rowcount == 1

    async def purge(self, older_than: datetime) -> None:
        """Forget callbacks of messages in a final state whose changes were all handed over,
        and any older than `older_than`."""
        async with self._sessions.begin() as session:
            final = select(Message.id).where(Message.status.in_(FINAL))
            pending = select(MessageEvent.message_id).where(
                MessageEvent.message_id == StatusCallback.message_id, MessageEvent.id > StatusCallback.last_event_id
            )
            await session.execute(
                delete(StatusCallback).where(
                    (StatusCallback.message_id.in_(final) & ~pending.exists())
                    | (StatusCallback.created_at < older_than)
                )
            )
