"""The totp_* tables: the only SQL about authenticator factors (satisfies totp/ports.py's TotpStore).

The decisions are single conditional UPDATEs, atomic on SQLite and PostgreSQL alike (on
PostgreSQL a concurrent UPDATE waits for the row and re-checks its WHERE on the new version):
`use_step` accepts a step only above `last_used_step`, `count_failure` takes a place in the
lockout window only while one is left, a recovery code is spent only while `used_at` is NULL.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.models import TotpChallenge, TotpEntity, TotpFactor, TotpRecoveryCode

_F = TotpFactor


def _not_locked(cutoff: datetime, max_failures: int) -> Any:
    return or_(_F.failures < max_failures, _F.failure_window_start.is_(None), _F.failure_window_start <= cutoff)


class TotpStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # --- entities -----------------------------------------------------------------
    async def ensure_entity(self, sid: str, identity: str, service_sid: str | None, now: datetime) -> TotpEntity:
        found = await self.get_entity(identity)
        if found is not None:
            return found
        entity = TotpEntity(sid=sid, identity=identity, service_sid=service_sid, created_at=now, updated_at=now)
        try:
            async with self._sessions.begin() as session:
                session.add(entity)
        except IntegrityError:  # made at the same moment by another request
            raced = await self.get_entity(identity)
            assert raced is not None
            return raced
        return entity

    async def get_entity(self, identity: str) -> TotpEntity | None:
        async with self._sessions() as session:
            return await session.scalar(select(TotpEntity).where(TotpEntity.identity == identity))

    async def list_entities(self, service_sid: str | None) -> list[TotpEntity]:
        query = select(TotpEntity).order_by(TotpEntity.created_at, TotpEntity.sid)
        if service_sid is not None:
            query = query.where(or_(TotpEntity.service_sid.is_(None), TotpEntity.service_sid == service_sid))
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def delete_entity(self, identity: str) -> bool:
        async with self._sessions.begin() as session:
            for model in (TotpChallenge, TotpFactor, TotpRecoveryCode):
                await session.execute(delete(model).where(model.identity == identity))
            result = await session.execute(delete(TotpEntity).where(TotpEntity.identity == identity))
        return cast(CursorResult[Any], result).rowcount == 1

    # --- factors ------------------------------------------------------------------
    async def add_factor(
        self,
        *,
        sid: str,
        entity: Any,
        friendly_name: str,
        issuer: str,
        secret_ciphertext: bytes,
        digits: int,
        period: int,
        algorithm: str,
        skew: int,
        now: datetime,
    ) -> TotpFactor:
        factor = TotpFactor(
            sid=sid,
            entity_sid=entity.sid,
            identity=entity.identity,
            friendly_name=friendly_name,
            issuer=issuer,
            status="unverified",
            secret_ciphertext=secret_ciphertext,
            digits=digits,
            period=period,
            algorithm=algorithm,
            skew=skew,
            last_used_step=None,
            failures=0,
            failure_window_start=None,
            created_at=now,
            updated_at=now,
        )
        async with self._sessions.begin() as session:
            session.add(factor)
        return factor

    async def get_factor(self, sid: str) -> TotpFactor | None:
        async with self._sessions() as session:
            return await session.get(TotpFactor, sid)

    async def factors_of(self, identity: str) -> list[TotpFactor]:
        query = select(TotpFactor).where(TotpFactor.identity == identity).order_by(_F.created_at, _F.sid)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def delete_factor(self, sid: str) -> bool:
        async with self._sessions.begin() as session:
            await session.execute(delete(TotpChallenge).where(TotpChallenge.factor_sid == sid))
            result = await session.execute(delete(TotpFactor).where(TotpFactor.sid == sid))
        return cast(CursorResult[Any], result).rowcount == 1

    async def use_step(self, sid: str, step: int, now: datetime, *, cutoff: datetime, max_failures: int) -> bool:
        statement = (
            update(_F)
            .where(
                _F.sid == sid,
                or_(_F.last_used_step.is_(None), _F.last_used_step < step),
                _not_locked(cutoff, max_failures),
            )
            .values(last_used_step=step, status="verified", failures=0, failure_window_start=None, updated_at=now)
        )
        return await self._changed(statement)

    async def count_failure(self, sid: str, now: datetime, *, cutoff: datetime, max_failures: int) -> bool:
        fresh = or_(_F.failure_window_start.is_(None), _F.failure_window_start <= cutoff)
        statement = (
            update(_F)
            .where(_F.sid == sid, or_(fresh, _F.failures < max_failures))
            .values(
                failures=case((fresh, 1), else_=_F.failures + 1),
                failure_window_start=case((fresh, now), else_=_F.failure_window_start),
                updated_at=now,
            )
        )
        return await self._changed(statement)

    async def reseal(self, sid: str, secret_ciphertext: bytes) -> None:
        await self._changed(update(_F).where(_F.sid == sid).values(secret_ciphertext=secret_ciphertext))

    # --- recovery codes -----------------------------------------------------------
    async def replace_recovery_codes(self, identity: str, code_hashes: Sequence[str], now: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.identity == identity))
            session.add_all(
                TotpRecoveryCode(identity=identity, code_hash=code_hash, used_at=None, created_at=now)
                for code_hash in code_hashes
            )

    async def use_recovery_code(self, identity: str, code_hash: str, now: datetime) -> bool:
        code = TotpRecoveryCode
        statement = (
            update(code)
            .where(and_(code.identity == identity, code.code_hash == code_hash, code.used_at.is_(None)))
            .values(used_at=now)
        )
        return await self._changed(statement)

    async def recovery_codes_left(self, identity: str) -> int:
        code = TotpRecoveryCode
        query = select(func.count()).where(code.identity == identity, code.used_at.is_(None))
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)

    # --- challenges ---------------------------------------------------------------
    async def add_challenge(self, *, sid: str, factor: Any, now: datetime, expires_at: datetime) -> TotpChallenge:
        challenge = TotpChallenge(
            sid=sid,
            factor_sid=factor.sid,
            entity_sid=factor.entity_sid,
            identity=factor.identity,
            status="pending",
            responded_reason="none",
            created_at=now,
            updated_at=now,
            responded_at=None,
            expires_at=expires_at,
        )
        async with self._sessions.begin() as session:
            session.add(challenge)
        return challenge

    async def get_challenge(self, sid: str) -> TotpChallenge | None:
        async with self._sessions() as session:
            return await session.get(TotpChallenge, sid)

    async def challenges_of(self, identity: str) -> list[TotpChallenge]:
        query = (
            select(TotpChallenge)
            .where(TotpChallenge.identity == identity)
            .order_by(TotpChallenge.created_at.desc(), TotpChallenge.sid)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def settle_challenge(self, sid: str, status: str, reason: str, now: datetime) -> TotpChallenge | None:
        statement = (
            update(TotpChallenge)
            .where(TotpChallenge.sid == sid, TotpChallenge.status == "pending")
            .values(status=status, responded_reason=reason, responded_at=now, updated_at=now)
        )
        if not await self._changed(statement):
            return None
        return await self.get_challenge(sid)

    async def _changed(self, statement: Any) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(statement, execution_options={"synchronize_session": False})
        return cast(CursorResult[Any], result).rowcount == 1
