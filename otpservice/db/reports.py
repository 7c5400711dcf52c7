"""Read-only queries of the operator console: the overview's counts, search, a verification's history.

The overview's queries are served by indexes made for them (migration 0006): the verifications
of a period are read from ix_verifications_created_country_status alone, "sent" is an index
probe into ix_messages_verification_status, and provider outcomes come from
ix_messages_created_provider_status.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.models import Message, MessageEvent, Verification

# A verification counts as sent once the provider accepted one of its messages.
ACCEPTED = ("sent", "delivered", "undelivered")
BACKLOG = ("queued", "sending")
SEARCH_LIMIT = 50


@dataclass(frozen=True)
class CountryRow:
    country: str | None
    started: int
    sent: int
    approved: int

    @property
    def conversion(self) -> float | None:
        """approved / started over the period (the breaker's ratio is approved / settled)."""
        return self.approved / self.started if self.started else None


@dataclass(frozen=True)
class ProviderRow:
    provider: str
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)


@dataclass(frozen=True)
class Backlog:
    queued: int
    sending: int
    oldest_due: datetime | None


@dataclass(frozen=True)
class VerificationHistory:
    verification: Verification
    messages: Sequence[Message]
    events: dict[str, list[MessageEvent]]


class ReportStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def countries(self, since: datetime, until: datetime | None = None) -> list[CountryRow]:
        """Verifications created in [since, until) per country."""
        accepted = exists().where(Message.verification_id == Verification.id, Message.status.in_(ACCEPTED))
        statement = (
            select(
                Verification.country,
                func.count(),
                func.sum(case((accepted, 1), else_=0)),
                func.sum(case((Verification.status == "approved", 1), else_=0)),
            )
            .where(Verification.created_at >= since, *([Verification.created_at < until] if until else []))
            .group_by(Verification.country)
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        result = [
            CountryRow(country, int(started), int(sent or 0), int(approved or 0))
            for country, started, sent, approved in rows
        ]
        return sorted(result, key=lambda row: (-row.started, row.country or ""))

    async def providers(self, since: datetime, until: datetime | None = None) -> list[ProviderRow]:
        """Messages created in [since, until) per provider and status."""
        statement = (
            select(Message.provider, Message.status, func.count())
            .where(Message.created_at >= since, *([Message.created_at < until] if until else []))
            .group_by(Message.provider, Message.status)
        )
        by_provider: dict[str, dict[str, int]] = {}
        async with self._sessions() as session:
            for provider, status, count in (await session.execute(statement)).all():
                by_provider.setdefault(provider, {})[status] = int(count)
        return [ProviderRow(name, counts) for name, counts in sorted(by_provider.items())]

    async def backlog(self) -> Backlog:
        statement = (
            select(Message.status, func.count(), func.min(Message.next_attempt_at))
            .where(Message.status.in_(BACKLOG))
            .group_by(Message.status)
        )
        async with self._sessions() as session:
            rows = {status: (int(count), due) for status, count, due in (await session.execute(statement)).all()}
        queued, oldest = rows.get("queued", (0, None))
        return Backlog(queued=queued, sending=rows.get("sending", (0, None))[0], oldest_due=oldest)

    async def verification(self, verification_id: str) -> VerificationHistory | None:
        async with self._sessions() as session:
            found = await session.get(Verification, verification_id)
            if found is None:
                return None
            messages = (
                (
                    await session.execute(
                        select(Message)
                        .where(Message.verification_id == verification_id)
                        # In the same instant (a fallback), the verification's last message last.
                        .order_by(
                            Message.created_at,
                            case((Message.id == (found.last_message_id or ""), 1), else_=0),
                            Message.id,
                        )
                    )
                )
                .scalars()
                .all()
            )
            events: dict[str, list[MessageEvent]] = {message.id: [] for message in messages}
            if messages:
                for event in (
                    await session.execute(
                        select(MessageEvent).where(MessageEvent.message_id.in_(list(events))).order_by(MessageEvent.id)
                    )
                ).scalars():
                    events[event.message_id].append(event)
        return VerificationHistory(found, messages, events)

    async def message(self, sid: str) -> tuple[Message, list[MessageEvent]] | None:
        """By our id or by the provider's."""
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(Message).where((Message.id == sid) | (Message.provider_sid == sid)).limit(1)
                )
            ).scalar_one_or_none()
            if found is None:
                return None
            events = (
                (
                    await session.execute(
                        select(MessageEvent).where(MessageEvent.message_id == found.id).order_by(MessageEvent.id)
                    )
                )
                .scalars()
                .all()
            )
        return found, list(events)

    async def by_number(self, number: str) -> tuple[Sequence[Verification], Sequence[Message]]:
        async with self._sessions() as session:
            verifications = (
                (
                    await session.execute(
                        select(Verification)
                        .where(Verification.to == number)
                        .order_by(Verification.created_at.desc())
                        .limit(SEARCH_LIMIT)
                    )
                )
                .scalars()
                .all()
            )
            messages = (
                (
                    await session.execute(
                        select(Message)
                        .where(Message.receiver == number)
                        .order_by(Message.created_at.desc())
                        .limit(SEARCH_LIMIT)
                    )
                )
                .scalars()
                .all()
            )
        return verifications, messages
