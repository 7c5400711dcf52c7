"""The breaker's tables: counts per (scope, key, second, replica) and breaker rows.

Every change is one statement (an upsert, or a conditional UPDATE), so that replicas
sharing the database agree: a probe slot is taken by `probes < max`, a trip only opens a
closed breaker, a re-open only follows the trip count it read.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.db.models import FraudBreaker, FraudTally, Verification

CLOSED, OPEN = "closed", "open"


@dataclass(frozen=True)
class TallyRow:
    """One replica's counts of one key in one second."""

    replica: str
    scope: str
    key: str
    bucket: int
    sent: int
    approved: int
    early: int


class FraudStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self._sessions = sessions
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def add_many(self, replica: str, written_at: float, rows: list[tuple[str, str, int, int, int, int]]) -> None:
        """Add (scope, key, bucket, sent, approved, early) to this replica's rows: one statement, run
        for every row at once, in one transaction."""
        if not rows:
            return
        statement = self._insert(FraudTally)
        statement = statement.on_conflict_do_update(
            index_elements=["scope", "key", "bucket", "replica"],
            set_={
                "sent": FraudTally.sent + statement.excluded.sent,
                "approved": FraudTally.approved + statement.excluded.approved,
                "early": FraudTally.early + statement.excluded.early,
                "written_at": statement.excluded.written_at,
            },
        )
        parameters = [
            {
                "scope": scope,
                "key": key,
                "bucket": bucket,
                "replica": replica,
                "sent": sent,
                "approved": approved,
                "early": early,
                "written_at": written_at,
            }
            for scope, key, bucket, sent, approved, early in sorted(rows)  # one lock order
        ]
        async with self._sessions.begin() as session:
            await session.execute(statement, parameters)

    async def tallies(self, first_bucket: int, written_since: float | None, not_replica: str) -> list[TallyRow]:
        """Other replicas' rows of the window (all of them, or those written since `written_since`)."""
        conditions = [FraudTally.bucket >= first_bucket, FraudTally.replica != not_replica]
        if written_since is not None:
            conditions.append(FraudTally.written_at >= written_since)
        columns = (
            FraudTally.replica,
            FraudTally.scope,
            FraudTally.key,
            FraudTally.bucket,
            FraudTally.sent,
            FraudTally.approved,
            FraudTally.early,
        )
        async with self._sessions() as session:
            return [TallyRow(*row) for row in await session.execute(select(*columns).where(*conditions))]

    async def tally_summary(
        self, first_bucket: int, before_bucket: int, group_seconds: int, not_replica: str
    ) -> list[TallyRow]:
        """Other replicas' rows in [first_bucket, before_bucket), summed per key and `group_seconds`
        (a process's first read: a few rows per key, whatever the traffic was)."""
        group = FraudTally.bucket - FraudTally.bucket % group_seconds
        statement = (
            select(
                FraudTally.scope,
                FraudTally.key,
                group,
                func.sum(FraudTally.sent),
                func.sum(FraudTally.approved),
                func.sum(FraudTally.early),
            )
            .where(
                FraudTally.bucket >= first_bucket,
                FraudTally.bucket < before_bucket,
                FraudTally.replica != not_replica,
            )
            .group_by(FraudTally.scope, FraudTally.key, group)
        )
        async with self._sessions() as session:
            return [TallyRow("*", *row) for row in await session.execute(statement)]

    async def prune(self, before_bucket: int) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(FraudTally).where(FraudTally.bucket < before_bucket))
            return cast(CursorResult[Any], result).rowcount or 0

    async def active(self, closed_since: datetime) -> list[FraudBreaker]:
        """Every breaker open, carrying an override, or closed after `closed_since` (its earlier
        counts are discarded): the small set each replica caches."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(FraudBreaker).where(
                    or_(
                        FraudBreaker.state == OPEN,
                        FraudBreaker.override.is_not(None),
                        FraudBreaker.counts_since >= closed_since,
                    )
                )
            )
            return list(rows.scalars())

    async def get(self, scope: str, key: str) -> FraudBreaker | None:
        async with self._sessions() as session:
            return await session.get(FraudBreaker, (scope, key))

    async def trip(
        self,
        scope: str,
        key: str,
        now: datetime,
        retry_at: datetime,
        *,
        counted_since: datetime,
        settled: int,
        approved: int,
        reason: str,
    ) -> bool:
        """Open a closed (or never seen) breaker; False when it is open already, or when its counts
        were discarded (a reset, an allow) after `counted_since`, the start of the counts that tripped it."""
        values = {
            "state": OPEN,
            "trips": 1,
            "opened_at": now,
            "retry_at": retry_at,
            "probes": 0,
            "probe_failures": 0,
            "settled": settled,
            "approved": approved,
            "reason": reason,
            "updated_at": now,
        }
        statement = self._insert(FraudBreaker).values(scope=scope, key=key, **values)
        statement = statement.on_conflict_do_update(
            index_elements=["scope", "key"],
            set_=values,
            where=(FraudBreaker.state == CLOSED)
            & or_(FraudBreaker.counts_since.is_(None), FraudBreaker.counts_since <= counted_since),
        )
        async with self._sessions.begin() as session:
            return (cast(CursorResult[Any], await session.execute(statement)).rowcount or 0) > 0

    async def take_probe(self, scope: str, key: str, now: datetime, max_probes: int) -> bool:
        return (
            await self._update(
                [
                    FraudBreaker.scope == scope,
                    FraudBreaker.key == key,
                    FraudBreaker.state == OPEN,
                    FraudBreaker.retry_at <= now,
                    FraudBreaker.probes < max_probes,
                ],
                probes=FraudBreaker.probes + 1,
                last_probe_at=now,
                updated_at=now,
            )
            is not None
        )

    async def close_after_probe(self, scope: str, key: str, now: datetime) -> bool:
        """A probe was approved: close, and discard the counts before now."""
        return (
            await self._update(
                [
                    FraudBreaker.scope == scope,
                    FraudBreaker.key == key,
                    FraudBreaker.state == OPEN,
                    FraudBreaker.probes > 0,
                ],
                state=CLOSED,
                trips=0,
                probes=0,
                probe_failures=0,
                counts_since=now,
                updated_at=now,
            )
            is not None
        )

    async def probe_failed(self, scope: str, key: str, now: datetime) -> FraudBreaker | None:
        return await self._update(
            [
                FraudBreaker.scope == scope,
                FraudBreaker.key == key,
                FraudBreaker.state == OPEN,
                FraudBreaker.probes > 0,
                FraudBreaker.probe_failures < FraudBreaker.probes,
            ],
            probe_failures=FraudBreaker.probe_failures + 1,
            updated_at=now,
        )

    async def reopen(self, scope: str, key: str, now: datetime, retry_at: datetime, trips_seen: int) -> bool:
        """Every probe settled unapproved: open again for a longer cooldown (once per round)."""
        return (
            await self._update(
                [
                    FraudBreaker.scope == scope,
                    FraudBreaker.key == key,
                    FraudBreaker.state == OPEN,
                    FraudBreaker.trips == trips_seen,
                    FraudBreaker.probes > 0,
                ],
                trips=trips_seen + 1,
                opened_at=now,
                retry_at=retry_at,
                probes=0,
                probe_failures=0,
                last_probe_at=None,
                updated_at=now,
            )
            is not None
        )

    async def set_override(
        self,
        scope: str,
        key: str,
        now: datetime,
        *,
        override: str | None,
        until: datetime | None,
        note: str | None,
        reset: bool = False,
    ) -> None:
        """block / allow (override set), or reset (closed, no override); a reset or an allow discards the counts."""
        values: dict[str, Any] = {"override": override, "override_until": until, "note": note, "updated_at": now}
        if reset:
            values.update(state=CLOSED, trips=0, probes=0, probe_failures=0)
        if reset or override == "allow":
            values.update(counts_since=now)
        fresh = {"state": CLOSED, "trips": 0, "probes": 0, "probe_failures": 0, "settled": 0, "approved": 0}
        statement = self._insert(FraudBreaker).values(scope=scope, key=key, **(fresh | values))
        async with self._sessions.begin() as session:
            await session.execute(statement.on_conflict_do_update(index_elements=["scope", "key"], set_=values))

    async def approved_since(self, to: str, since: datetime) -> bool:
        """Was this number approved after `since`? (one indexed lookup on its own rows)"""
        async with self._sessions() as session:
            found = await session.execute(
                select(func.count())
                .select_from(Verification)
                .where(Verification.to == to, Verification.created_at >= since, Verification.approved_at.is_not(None))
            )
            return bool(found.scalar_one())

    async def verification(self, verification_id: str) -> Verification | None:
        async with self._sessions() as session:
            return await session.get(Verification, verification_id)

    async def _update(self, conditions: list[ColumnElement[bool]], **values: Any) -> FraudBreaker | None:
        statement = (
            update(FraudBreaker)
            .where(*conditions)
            .values(**values)
            .returning(FraudBreaker)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(statement)).scalar_one_or_none()
