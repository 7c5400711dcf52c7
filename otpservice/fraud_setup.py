"""Build the breaker from the settings (wiring: fraud/ itself reads no Settings and imports no db/)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.clock import Clock
from otpservice.db.fraud import FraudStore
from otpservice.fraud.guard import FraudGuard
from otpservice.fraud.operator import BreakerOperator
from otpservice.fraud.rules import FraudRules
from otpservice.settings import Settings


def fraud_rules(settings: Settings) -> FraudRules:
    return FraudRules(
        mode=settings.fraud_guard,
        tail_digits=settings.fraud_prefix_tail_digits,
        window=settings.fraud_window,
        cooldown=settings.fraud_cooldown,
        min_settled=settings.fraud_min_settled,
        min_conversion=settings.fraud_min_conversion,
        ttl=settings.otp_ttl,
        grace=settings.fraud_grace,
    )


def build_fraud(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], dialect: str, clock: Clock
) -> tuple[FraudGuard, BreakerOperator]:
    store = FraudStore(sessions, dialect)
    rules = fraud_rules(settings)
    guard = FraudGuard(store, rules, clock)
    return guard, BreakerOperator(store, rules, clock, on_applied=guard.override_applied)
