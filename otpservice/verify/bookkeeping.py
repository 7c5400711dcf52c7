"""What the start and the checks share: the rules, expiring a verification past due, its view, its log line."""

import logging
from dataclasses import dataclass

from otpservice.clock import Clock, to_datetime
from otpservice.core.phone import mask_phone
from otpservice.db.models import Verification
from otpservice.db.verifications import VerificationStore
from otpservice.fraud.guard import FraudGuard
from otpservice.limits.delay import DelayPolicy
from otpservice.observability import metrics
from otpservice.verify.views import VerificationView, describe

log = logging.getLogger("otpservice.verify")


@dataclass(frozen=True)
class VerificationRules:
    ttl_seconds: int
    code_length: int
    max_check_attempts: int
    max_sends: int
    delay: DelayPolicy


class Bookkeeping:
    def __init__(self, store: VerificationStore, guard: FraudGuard, rules: VerificationRules, clock: Clock) -> None:
        self._store, self._guard, self._rules, self._clock = store, guard, rules, clock

    async def expire_if_due(self, verification: Verification) -> bool:
        """True when the verification is past its expiry (marking it expired if still pending)."""
        now = self._clock.now()
        if verification.expires_at.timestamp() > now:
            return False
        if await self._store.expire(verification.id, to_datetime(now)):
            metrics.verification_event("expired")
            await self._guard.settled(verification, "expired")  # breaker
        return True

    def view(self, verification: Verification, delivery_status: str | None = None) -> VerificationView:
        return describe(
            verification, delay=self._rules.delay, max_sends=self._rules.max_sends, delivery_status=delivery_status
        )


def log_info(message: str, verification: Verification) -> None:
    log.info(message, extra=_log_fields(verification))


def _log_fields(verification: Verification) -> dict[str, object]:
    return {
        "verification_id": verification.id,
        "to": mask_phone(verification.to),
        "send_attempts": verification.send_attempts,
        "check_attempts": verification.check_attempts,
    }
