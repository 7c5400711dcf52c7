"""The app_messages table (Messages.json sends) read together with their messages row."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.messaging_models import AppMessage
from otpservice.db.models import Message, MessageEvent

SENT_STATES = ("sent", "delivered", "undelivered")


@dataclass(frozen=True)
class AppMessageView:
    app: AppMessage
    message: Message
    date_sent: datetime | None  # when a provider first took it


@dataclass(frozen=True)
class MessageFilter:
    to: str | None = None
    sender: str | None = None
    sent_from: datetime | None = None  # inclusive
    sent_before: datetime | None = None  # exclusive


class AppMessageStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, row: AppMessage) -> None:
        async with self._sessions.begin() as session:
            session.add(row)

    async def get(self, account_sid: str, message_id: str) -> AppMessageView | None:
        query = _joined().where(AppMessage.account_sid == account_sid, AppMessage.message_id == message_id)
        found = await self._read(query)
        return found[0] if found else None

    async def page(self, account_sid: str, where: MessageFilter, offset: int, limit: int) -> list[AppMessageView]:
        """Newest first; `date_sent` filters by the send's creation (sent or queued then)."""
        query = _joined().where(AppMessage.account_sid == account_sid)
        if where.to is not None:
            query = query.where(Message.receiver == where.to)
        if where.sender is not None:
            query = query.where(Message.sender == where.sender)
        if where.sent_from is not None:
            query = query.where(AppMessage.created_at >= where.sent_from)
        if where.sent_before is not None:
            query = query.where(AppMessage.created_at < where.sent_before)
        query = query.order_by(AppMessage.created_at.desc(), AppMessage.message_id.desc()).offset(offset).limit(limit)
        return await self._read(query)

    async def _read(self, query: Select[AppMessage, Message, datetime]) -> list[AppMessageView]:
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [AppMessageView(app, message, date_sent) for app, message, date_sent in rows]


def _joined() -> Select[AppMessage, Message, datetime]:
    sent_at = (
        select(func.min(MessageEvent.created_at))
        .where(MessageEvent.message_id == AppMessage.message_id, MessageEvent.status.in_(SENT_STATES))
        .correlate(AppMessage)
        .scalar_subquery()
    )
    return select(AppMessage, Message, sent_at).join(Message, Message.id == AppMessage.message_id)
