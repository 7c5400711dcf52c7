"""VerificationService: start (send a code), check it, look a verification up, cancel it.

It knows nothing of HTTP: it raises the errors of errors.py and returns views.
"""

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from otpservice.clock import Clock, to_datetime
from otpservice.db.messages import MessageStore
from otpservice.db.models import Verification
from otpservice.delivery.dispatch import new_message_id
from otpservice.db.verifications import (
    MAX_ATTEMPTS_REACHED,
    PENDING,
    CheckOutcome as StoredOutcome,
    VerificationStore,
)
from otpservice.errors import MaxAttemptsReached, NumberDelayed, VerificationNotFound
from otpservice.fraud.guard import FraudGuard
from otpservice.limits.delay import DelayPolicy
from otpservice.observability import metrics
from otpservice.core.phone import mask_phone
from otpservice.verify.caps import VerificationCaps
from otpservice.verify.codes import TEST_NUMBER_KEY_ID, CodeBook, fixed_code_matches, new_salt
from otpservice.verify.message_text import MessageTemplates
from otpservice.verify.policy import NumberPolicy
from otpservice.verify.sending import CodeSender
from otpservice.verify.views import CheckOutcome, StartOutcome, VerificationView, describe

log = logging.getLogger("otpservice.verify")

VERIFICATION_ID = re.compile(r"^VE[0-9a-f]{32}$")
# A start that keeps losing races for its number (each loser re-reads the winner) gives up.
START_ROUNDS = 3


@dataclass(frozen=True)
class VerificationRules:
    ttl_seconds: int
    code_length: int
    max_check_attempts: int
    max_sends: int
    delay: DelayPolicy


class VerificationService:
    def __init__(self, store: VerificationStore, messages: MessageStore, sender: CodeSender, codes: CodeBook,
                 policy: NumberPolicy, caps: VerificationCaps, templates: MessageTemplates,
                 rules: VerificationRules, clock: Clock, guard: FraudGuard) -> None:
        self._store, self._messages, self._sender = store, messages, sender
        self._guard = guard  # the SMS-pumping breaker (fraud/): decides before the send budget
        self._codes, self._policy, self._caps = codes, policy, caps
        self._templates, self._rules, self._clock = templates, rules, clock

    async def start(self, to: str, *, client_ip: str, locale: str | None = None,
                    app_hash: str | None = None) -> StartOutcome:
        """Send a code to `to`: a new verification, or the same code again for a pending one."""
        await self._caps.count_request(client_ip)
        self._policy.ensure_allowed(to)
        if self._policy.fixed_code_for(to) is None:  # breaker: before anything is charged to the number
            await self._guard.before_start(to)
        await self._caps.ensure_room_for_send(to)
        for _ in range(START_ROUNDS):
            current = await self._store.open_for(to)
            if current is not None and current.status == MAX_ATTEMPTS_REACHED:
                self._refuse_while_exhausted(current)
            elif current is not None and not await self._expire_if_due(current):
                resent = await self._sender.resend(current)
                if resent is not None:
                    metrics.verification_event("resent")
                    _log_info("verification resent", resent)
                    return StartOutcome(self._view(resent), created=False)
                continue
            created = self._new_verification(to, client_ip, locale, app_hash)
            sent = await self._sender.send_first(created) if await self._store.add_pending(created) else None
            if sent is not None:
                metrics.verification_event("started")
                _log_info("verification started", sent)
                return StartOutcome(self._view(sent), created=True)
        raise NumberDelayed("Concurrent requests for this number, retry", retry_after=1)

    async def check(self, code: str, *, client_ip: str, verification_id: str | None = None,
                    to: str | None = None) -> CheckOutcome:
        await self._caps.count_request(client_ip)
        if to is not None:
            self._policy.ensure_valid(to)
        if verification_id is not None and not VERIFICATION_ID.match(verification_id):
            metrics.check_result("not_found")
            raise VerificationNotFound()
        now = self._clock.now()
        result = await self._store.check(to_datetime(now), self._judge(code),
                                         verification_id=verification_id, to=to)
        found = result.verification
        if result.outcome is StoredOutcome.APPROVED and found is not None:
            metrics.check_result("approved")
            metrics.verification_event("approved")
            _log_info("verification approved", found)
            await self._guard.settled(found, "approved")  # breaker
            return CheckOutcome(self._view(found), valid=True)
        if result.outcome is StoredOutcome.WRONG_CODE and found is not None:
            metrics.check_result("wrong_code")
            if found.status == MAX_ATTEMPTS_REACHED:
                metrics.verification_event("max_attempts_reached")
                _log_info("verification attempts exhausted", found)
                await self._guard.settled(found, "ended")  # breaker
            return CheckOutcome(self._view(found), valid=False)
        if result.outcome is StoredOutcome.NO_ATTEMPTS_LEFT and found is not None:
            metrics.check_result("max_attempts_reached")
            raise MaxAttemptsReached(retry_after=found.expires_at.timestamp() - now)
        if result.outcome is StoredOutcome.EXPIRED and found is not None:
            await self._expire_if_due(found)
        metrics.check_result("not_found")
        raise VerificationNotFound()

    async def get(self, verification_id: str) -> VerificationView:
        """A verification in any state."""
        found = await self._store.get(verification_id) if VERIFICATION_ID.match(verification_id) else None
        if found is None:
            raise VerificationNotFound("Verification not found")
        if found.status == PENDING and await self._expire_if_due(found):
            found = await self._store.get(verification_id) or found
        delivery_status = None
        if found.last_message_id:
            message = await self._messages.get(found.last_message_id)
            delivery_status = message.status if message else None
        return self._view(found, delivery_status)

    async def cancel(self, verification_id: str) -> VerificationView:
        if not VERIFICATION_ID.match(verification_id):
            raise VerificationNotFound()
        canceled = await self._store.cancel(verification_id, to_datetime(self._clock.now()))
        if canceled is None:
            found = await self._store.get(verification_id)
            if found is not None and found.status == PENDING:
                await self._expire_if_due(found)
            raise VerificationNotFound()
        metrics.verification_event("canceled")
        _log_info("verification canceled", canceled)
        await self._guard.settled(canceled, "ended")  # breaker
        return self._view(canceled)

    def _new_verification(self, to: str, client_ip: str, locale: str | None,
                          app_hash: str | None) -> Verification:
        now = self._clock.now()
        fixed_code = self._policy.fixed_code_for(to)
        return Verification(
            id="VE" + uuid.uuid4().hex, to=to, channel="sms", status=PENDING, code_salt=new_salt(),
            key_id=TEST_NUMBER_KEY_ID if fixed_code is not None else self._codes.current_key_id,
            code_length=len(fixed_code) if fixed_code is not None else self._rules.code_length,
            locale=self._templates.resolve_locale(locale), app_hash=app_hash,
            # The first send is taken at creation; given back if that send is refused.
            send_attempts=1, check_attempts=0, max_check_attempts=self._rules.max_check_attempts,
            client_ip_hash=self._codes.pseudonym(client_ip), created_at=to_datetime(now),
            updated_at=to_datetime(now), expires_at=to_datetime(now + self._rules.ttl_seconds),
            last_sent_at=to_datetime(now), last_message_id=None if fixed_code is not None else new_message_id())

    def _judge(self, candidate: str) -> Callable[[Verification], bool]:
        def judge(verification: Verification) -> bool:
            if verification.key_id == TEST_NUMBER_KEY_ID:
                return fixed_code_matches(self._policy.fixed_code_for(verification.to), candidate)
            return self._codes.matches(verification.id, verification.code_salt, verification.key_id,
                                       verification.code_length, candidate)
        return judge

    def _refuse_while_exhausted(self, exhausted: Verification) -> None:
        """A number whose last verification spent its attempts waits for that one's expiry."""
        retry_after = exhausted.expires_at.timestamp() - self._clock.now()
        if retry_after > 0:
            raise MaxAttemptsReached(retry_after=retry_after)

    async def _expire_if_due(self, verification: Verification) -> bool:
        """True when the verification is past its expiry (marking it expired if still pending)."""
        now = self._clock.now()
        if verification.expires_at.timestamp() > now:
            return False
        if await self._store.expire(verification.id, to_datetime(now)):
            metrics.verification_event("expired")
            await self._guard.settled(verification, "expired")  # breaker
        return True

    def _view(self, verification: Verification, delivery_status: str | None = None) -> VerificationView:
        return describe(verification, delay=self._rules.delay, max_sends=self._rules.max_sends,
                        delivery_status=delivery_status)


def _log_info(message: str, verification: Verification) -> None:
    log.info(message, extra=_log_fields(verification))


def _log_fields(verification: Verification) -> dict[str, object]:
    return {"verification_id": verification.id, "to": mask_phone(verification.to),
            "send_attempts": verification.send_attempts, "check_attempts": verification.check_attempts}
