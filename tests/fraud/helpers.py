"""A FraudGuard on a real database with the fake clock, and verifications to feed it."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from otpservice.clock import FakeClock, to_datetime
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.fraud import FraudStore
from otpservice.db.models import Verification
from otpservice.fraud.guard import FraudGuard
from otpservice.fraud.operator import BreakerOperator
from otpservice.fraud.rules import FraudRules

RULES = FraudRules(
    mode="enforce", tail_digits=4, window=3600, cooldown=900, min_settled=20, min_conversion=0.2, ttl=600, grace=30
)
RANGE = "+39333123"  # an attacked range: +39333123xxxx
HEALTHY = ("+39347", "+44791112", "+1415555")


def in_range(index: int, prefix: str = RANGE, length: int = 13) -> str:
    return prefix + str(index).zfill(length - len(prefix))


@dataclass
class Rig:
    guard: FraudGuard
    operator: BreakerOperator
    store: FraudStore
    clock: FakeClock

    def verification(self, to: str) -> Verification:
        now = to_datetime(self.clock.now())
        return Verification(
            id="VE" + uuid.uuid4().hex,
            to=to,
            channel="sms",
            status="pending",
            code_salt="s",
            key_id="k1",
            code_length=6,
            send_attempts=1,
            check_attempts=0,
            max_check_attempts=5,
            created_at=now,
            updated_at=now,
            expires_at=now,
            locale="en",
        )

    async def start_and_send(self, to: str) -> Verification:
        """What a start that passes does: decide, then count the accepted first SMS."""
        await self.guard.before_start(to)
        verification = self.verification(to)
        await self.guard.sent(verification)
        return verification


async def sent_in_store(store: FraudStore, scope: str, key: str) -> int:
    """Sends of the key written to the database by every replica."""
    return sum(row.sent for row in await store.tallies(0, None, "") if (row.scope, row.key) == (scope, key))


@asynccontextmanager
async def rig(database_url: str, clock: FakeClock, rules: FraudRules = RULES) -> AsyncIterator[Rig]:
    engine = make_engine(database_url)
    store = FraudStore(make_sessionmaker(engine), engine.dialect.name)
    try:
        guard = FraudGuard(store, rules, clock)
        yield Rig(guard, BreakerOperator(store, rules, clock, on_applied=guard.override_applied), store, clock)
    finally:
        await engine.dispose()


def with_mode(mode: str, rules: FraudRules = RULES) -> FraudRules:
    return replace(rules, mode=mode)
