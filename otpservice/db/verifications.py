"""The verifications table: the only SQL about verifications.

Every state change is one conditional UPDATE, so that it holds on SQLite and PostgreSQL
under concurrent requests and across replicas: a check takes one attempt
(`check_attempts < max_check_attempts`), approval requires `status = 'pending'`, a re-send
takes one send (`send_attempts < OTP_MAX_SENDS`). The partial unique index
uq_verifications_pending_to keeps one pending verification per number.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.core.statuses import (
    APPROVED,
    CANCELED,
    EXPIRED,
    FAILED,
    MAX_ATTEMPTS_REACHED,
    PENDING,
)
from otpservice.db.models import Verification

# Still holding its number: a check gets 429 and a new start waits for expires_at.
_OPEN = (PENDING, MAX_ATTEMPTS_REACHED)


class CheckOutcome(Enum):
    APPROVED = "approved"
    WRONG_CODE = "wrong_code"
    NO_ATTEMPTS_LEFT = "max_attempts_reached"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class CheckResult:
    outcome: CheckOutcome
    verification: Verification | None = None


CodeJudge = Callable[[Verification], bool]


class VerificationStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add_pending(self, verification: Verification) -> bool:
        """Insert; False when the number already has a pending verification (a concurrent start)."""
        try:
            async with self._sessions.begin() as session:
                session.add(verification)
        except IntegrityError:
            return False
        return True

    async def get(self, verification_id: str) -> Verification | None:
        async with self._sessions() as session:
            return await session.get(Verification, verification_id)

    async def open_for(self, to: str) -> Verification | None:
        """The number's latest verification still holding it (pending, or its attempts spent),
        expired or not: one query for what a start must know."""
        return await self._first(Verification.to == to, Verification.status.in_(_OPEN))

    async def take_send_slot(self, verification_id: str, max_sends: int, now: datetime) -> Verification | None:
        return await self._update(
            [
                Verification.id == verification_id,
                *_usable(now),
                Verification.send_attempts < max_sends,
                Verification.check_attempts < Verification.max_check_attempts,
            ],
            send_attempts=Verification.send_attempts + 1,
            updated_at=now,
        )

    async def give_back_send_slot(self, verification_id: str, now: datetime) -> None:
        """A send refused before the provider (delay, balance) is no send."""
        await self._update(
            [Verification.id == verification_id, Verification.send_attempts > 0],
            send_attempts=Verification.send_attempts - 1,
            updated_at=now,
        )

    async def discard_unsent(self, verification_id: str) -> None:
        """Remove a new verification whose first send was refused, unless another send took it up."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(Verification).where(
                    Verification.id == verification_id, Verification.status == PENDING, Verification.send_attempts == 0
                )
            )

    async def record_send(
        self, verification_id: str, now: datetime, *, message_id: str | None, delivery_status: str | None
    ) -> Verification | None:
        return await self._update(
            [Verification.id == verification_id],
            last_message_id=message_id,
            delivery_status=delivery_status,
            last_sent_at=now,
            updated_at=now,
        )

    async def mark_failed(self, verification_id: str, now: datetime) -> bool:
        """The code could not be sent: the verification is over."""
        return (
            await self._update(
                [Verification.id == verification_id, Verification.status == PENDING],
                status=FAILED,
                delivery_status=FAILED,
                last_sent_at=now,
                updated_at=now,
            )
            is not None
        )

    async def expire(self, verification_id: str, now: datetime) -> bool:
        return (
            await self._update(
                [Verification.id == verification_id, Verification.status == PENDING, Verification.expires_at <= now],
                status=EXPIRED,
                updated_at=now,
            )
            is not None
        )

    async def cancel(self, verification_id: str, now: datetime) -> Verification | None:
        return await self._update(
            [Verification.id == verification_id, Verification.status == PENDING, Verification.expires_at > now],
            status=CANCELED,
            updated_at=now,
        )

    async def approve(self, verification_id: str, now: datetime) -> Verification | None:
        """Approved without a code (the Twilio API's update to `approved`)."""
        return await self._update(
            [Verification.id == verification_id, *_usable(now)], status=APPROVED, approved_at=now, updated_at=now
        )

    async def check(
        self,
        now: datetime,
        judge: CodeJudge,
        *,
        verification_id: str | None = None,
        to: str | None = None,
        service_sid: str | None = None,
    ) -> CheckResult:
        """Take one attempt, judge the code, approve: one transaction, so that the row stays
        locked from the attempt to the approval and a concurrent check sees the outcome.
        With `service_sid`, only that service's verifications and service-less ones count."""
        selector = Verification.id == verification_id if verification_id is not None else Verification.to == to
        if service_sid is not None:
            selector = and_(selector, or_(Verification.service_sid == service_sid, Verification.service_sid.is_(None)))
        async with self._sessions.begin() as session:
            taken = await _update_one(
                session,
                [selector, *_usable(now), Verification.check_attempts < Verification.max_check_attempts],
                check_attempts=Verification.check_attempts + 1,
                updated_at=now,
            )
            if taken is not None:
                mine = [Verification.id == taken.id, Verification.status == PENDING]
                if judge(taken):
                    approved = await _update_one(session, mine, status=APPROVED, approved_at=now, updated_at=now)
                    return CheckResult(CheckOutcome.APPROVED if approved else CheckOutcome.NOT_FOUND, approved)
                if taken.check_attempts >= taken.max_check_attempts:
                    taken = await _update_one(session, mine, status=MAX_ATTEMPTS_REACHED, updated_at=now) or taken
                return CheckResult(CheckOutcome.WRONG_CODE, taken)
        return await self._why_no_attempt(selector, now)

    async def _why_no_attempt(self, selector: ColumnElement[bool], now: datetime) -> CheckResult:
        found = await self._first(selector, Verification.status.in_(_OPEN))
        if found is None:
            return CheckResult(CheckOutcome.NOT_FOUND)
        if found.expires_at <= now:
            return CheckResult(CheckOutcome.EXPIRED if found.status == PENDING else CheckOutcome.NOT_FOUND, found)
        if found.check_attempts >= found.max_check_attempts:
            return CheckResult(CheckOutcome.NO_ATTEMPTS_LEFT, found)
        return CheckResult(CheckOutcome.NOT_FOUND)

    async def expire_all_due(self, now: datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Verification)
                .where(Verification.status == PENDING, Verification.expires_at <= now)
                .values(status=EXPIRED, updated_at=now)
            )
            return _rows_changed(result)

    async def purge_finished_before(self, cutoff: datetime) -> int:
        """Delete verifications that are no longer pending, created before `cutoff`."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Verification).where(Verification.status != PENDING, Verification.created_at < cutoff)
            )
            return _rows_changed(result)

    async def _first(self, *conditions: ColumnElement[bool]) -> Verification | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(Verification).where(*conditions).order_by(Verification.created_at.desc()).limit(1)
            )
            return result.scalar_one_or_none()

    async def _update(self, conditions: list[ColumnElement[bool]], **values: Any) -> Verification | None:
        async with self._sessions.begin() as session:
            return await _update_one(session, conditions, **values)


def _rows_changed(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount or 0


def _usable(now: datetime) -> list[ColumnElement[bool]]:
    return [Verification.status == PENDING, Verification.expires_at > now]


async def _update_one(
    session: AsyncSession, conditions: list[ColumnElement[bool]], **values: Any
) -> Verification | None:
    """One conditional UPDATE; the row as it is after it, or None when the conditions failed."""
    statement = (
        update(Verification)
        .where(*conditions)
        .values(**values)
        .returning(Verification)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()
