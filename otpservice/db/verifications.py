"""The verifications table: the only SQL about verifications.

Every state change is one conditional UPDATE, so that it holds on SQLite and PostgreSQL
under concurrent requests and across replicas: a check takes one attempt
(`check_attempts < max_check_attempts`), approval requires `status = 'pending'`, a re-send
takes one send (`send_attempts < OTP_MAX_SENDS`). The partial unique index
uq_verifications_pending_to keeps one pending verification per number.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    String,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from otpservice.core.statuses import (
    APPROVED,
    CANCELED,
    EXPIRED,
    FAILED,
    MAX_ATTEMPTS_REACHED,
    PENDING,
)
from otpservice.db.engine import begin_core, connect_core
from otpservice.db.group import GroupRead, group_commit
from otpservice.db.models import Verification
from otpservice.db.prepared import Prepared, fetch

_TABLE = cast(Table, Verification.__table__)  # Core statements on the hot path

# Still holding its number: a check gets 429 and a new start waits for expires_at.
_OPEN = (PENDING, MAX_ATTEMPTS_REACHED)


# A start's one read, for the numbers of all starts of the moment (GroupRead): built once.
_STILL_OPEN = or_(*(_TABLE.c.status == status for status in _OPEN))  # OR: no expanding list to compile
_OPEN_FOR_MANY = {
    "postgresql": Prepared(
        select(_TABLE).where(_TABLE.c.to == any_(bindparam("numbers", type_=ARRAY(String))), _STILL_OPEN)
    ),
    "sqlite": Prepared(select(_TABLE).where(_TABLE.c.to.in_(bindparam("numbers", expanding=True)), _STILL_OPEN)),
}
# A check: one attempt taken (by id or number, within a service or not), then approval or exhaustion.
_AFTER_ATTEMPT = {
    status: Prepared(
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("vid"), _TABLE.c.status == PENDING)
        .values(
            status=status,
            updated_at=bindparam("now"),
            **({"approved_at": bindparam("now")} if status == APPROVED else {}),
        )
        .returning(*_TABLE.columns)
    )
    for status in (APPROVED, MAX_ATTEMPTS_REACHED)
}


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
        self._open_reads: GroupRead[str, Verification] = GroupRead(sessions, _open_for_many)

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
        expired or not: one query for what a start must know, shared with the starts of the moment."""
        return await self._open_reads.get(to)

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

    async def take_fallback_slot(self, verification_id: str, max_sends: int, now: datetime) -> Verification | None:
        """One more send for the same code on a fallback channel, right after the first channel
        refused it: a verification its refused message had just failed is pending again. None
        when it is over otherwise, or its number has another pending one meanwhile."""
        try:
            return await self._update(
                [
                    Verification.id == verification_id,
                    Verification.status.in_((PENDING, FAILED)),
                    Verification.expires_at > now,
                    Verification.send_attempts < max_sends,
                    Verification.check_attempts < Verification.max_check_attempts,
                ],
                status=PENDING,
                delivery_status=None,
                send_attempts=Verification.send_attempts + 1,
                updated_at=now,
            )
        except IntegrityError:  # another start's pending verification holds the number
            return None

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
        taking = _taking_attempt("id" if verification_id is not None else "to", service_sid is not None)
        params = {"key": verification_id if verification_id is not None else to, "sid": service_sid, "now": now}

        async def work(connection: AsyncConnection) -> CheckResult | None:
            taken = _first_of(await fetch(connection, taking, params))
            if taken is None:
                return None
            if judge(taken):
                approved = _first_of(await fetch(connection, _AFTER_ATTEMPT[APPROVED], {"vid": taken.id, "now": now}))
                return CheckResult(CheckOutcome.APPROVED if approved else CheckOutcome.NOT_FOUND, approved)
            if taken.check_attempts >= taken.max_check_attempts:
                exhausted = _AFTER_ATTEMPT[MAX_ATTEMPTS_REACHED]
                taken = _first_of(await fetch(connection, exhausted, {"vid": taken.id, "now": now})) or taken
            return CheckResult(CheckOutcome.WRONG_CODE, taken)

        # Shared with other writes of the moment (group commit); a caller returns once committed.
        result = await group_commit(self._sessions).run(work)
        return result if result is not None else await self._why_no_attempt(selector, now)

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
        async with connect_core(self._sessions) as connection:
            result = await connection.execute(
                select(_TABLE).where(*conditions).order_by(Verification.created_at.desc()).limit(1)
            )
            return _of(result.first())

    async def _update(self, conditions: list[ColumnElement[bool]], **values: Any) -> Verification | None:
        async with begin_core(self._sessions) as connection:
            return await _update_one(connection, conditions, **values)


def _rows_changed(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount or 0


def _usable(now: datetime) -> list[ColumnElement[bool]]:
    return [Verification.status == PENDING, Verification.expires_at > now]


async def _update_one(
    connection: AsyncConnection, conditions: list[ColumnElement[bool]], **values: Any
) -> Verification | None:
    """One conditional UPDATE; the row as it is after it, or None when the conditions failed."""
    statement = update(_TABLE).where(*conditions).values(**values).returning(*_TABLE.columns)
    return _of((await connection.execute(statement)).first())


async def _open_for_many(connection: AsyncConnection, numbers: list[str]) -> dict[str, Verification]:
    statement = _OPEN_FOR_MANY["postgresql" if connection.dialect.name == "postgresql" else "sqlite"]
    latest: dict[str, Verification] = {}
    for row in await fetch(connection, statement, {"numbers": numbers}):
        found = Verification(**row)
        if found.to not in latest or found.created_at > latest[found.to].created_at:
            latest[found.to] = found
    return latest


@cache
def _taking_attempt(by: str, scoped: bool) -> Prepared:
    """A check's attempt: one conditional UPDATE by id or number, with the row after it."""
    selector = (_TABLE.c.id if by == "id" else _TABLE.c.to) == bindparam("key")
    if scoped:
        selector = and_(selector, or_(_TABLE.c.service_sid == bindparam("sid"), _TABLE.c.service_sid.is_(None)))
    return Prepared(
        update(_TABLE)
        .where(
            selector,
            _TABLE.c.status == PENDING,
            _TABLE.c.expires_at > bindparam("now"),
            _TABLE.c.check_attempts < _TABLE.c.max_check_attempts,
        )
        .values(check_attempts=_TABLE.c.check_attempts + 1, updated_at=bindparam("now"))
        .returning(*_TABLE.columns)
    )


def _first_of(rows: list[Mapping[str, Any]]) -> Verification | None:
    return Verification(**rows[0]) if rows else None


def _of(row: Row[Any] | None) -> Verification | None:
    """A row as a (detached) Verification: Core reads skip the session and its identity map."""
    return None if row is None else Verification(**row._mapping)
