"""The idempotency_keys table (SPEC 22): one row per caller and Idempotency-Key, claimed by the
first request (a primary key: one winner across replicas), then holding its answer for 24 h."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.messaging_models import IdempotencyKey

KEEP = timedelta(hours=24)
# How long a claim holds without an answer: past it, the first request's process is taken to
# have died and a retry runs instead (a send is bounded by the provider timeout, far below it).
LEASE = timedelta(minutes=5)
PURGE_EVERY = 200  # claims between two deletions of expired keys


@dataclass(frozen=True)
class Stored:
    answer_status: int
    headers: str
    body: bytes


Claim = Literal["claimed", "in_progress", "reused"] | Stored


class IdempotencyStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._claims = 0

    async def claim(self, key: str, fingerprint: str, now: datetime) -> Claim:
        """ "claimed": run the request, then `complete` or `release`. Otherwise the answer to give."""
        self._claims += 1
        if self._claims % PURGE_EVERY == 0:
            await self.purge(now)
        for _ in range(5):  # a row deleted between our insert and our read: try again
            try:
                async with self._sessions.begin() as session:
                    session.add(
                        IdempotencyKey(
                            key=key,
                            fingerprint=fingerprint,
                            created_at=now,
                            expires_at=now + KEEP,
                            lease_until=now + LEASE,
                        )
                    )
                return "claimed"
            except IntegrityError:
                pass
            async with self._sessions() as session:
                row = await session.get(IdempotencyKey, key)
            if row is None:
                continue
            if row.expires_at <= now:
                await self._delete(key, expired_at=now)
                continue
            if row.fingerprint != fingerprint:
                return "reused"
            if row.answer_status is not None:
                return Stored(row.answer_status, row.headers or "[]", row.body or b"")
            if row.lease_until > now or not await self._take_over(key, now):
                return "in_progress"
            return "claimed"
        return "in_progress"

    async def complete(self, key: str, answer_status: int, headers: str, body: bytes) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == key)
                .values(answer_status=answer_status, headers=headers, body=body)
            )

    async def release(self, key: str) -> None:
        """Forget a claim whose request gave no answer worth replaying: a retry runs again."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.answer_status.is_(None))
            )

    async def purge(self, now: datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
            return int(result.rowcount) if isinstance(result, CursorResult) else 0

    async def _delete(self, key: str, *, expired_at: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.expires_at <= expired_at)
            )

    async def _take_over(self, key: str, now: datetime) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(IdempotencyKey)
                .where(
                    IdempotencyKey.key == key,
                    IdempotencyKey.answer_status.is_(None),
                    IdempotencyKey.lease_until <= now,
                )
                .values(lease_until=now + LEASE)
            )
            return isinstance(result, CursorResult) and result.rowcount == 1
