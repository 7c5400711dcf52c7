"""VerificationService: start (send a code), check it, look a verification up, cancel it.

It knows nothing of HTTP: it raises the errors of errors.py and returns views.
"""

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from otpservice.clock import Clock, to_datetime
from otpservice.core.phone import country_of, mask_phone
from otpservice.core.statuses import MAX_ATTEMPTS_REACHED, PENDING
from otpservice.db.messages import MessageStore
from otpservice.db.models import Verification
from otpservice.db.verifications import CheckOutcome as StoredOutcome, VerificationStore
from otpservice.delivery.dispatch import new_message_id
from otpservice.errors import MaxAttemptsReached, NumberDelayed, VerificationNotFound
from otpservice.fraud.guard import FraudGuard
from otpservice.limits.budget import Reservation
from otpservice.limits.delay import DelayPolicy
from otpservice.observability import metrics
from otpservice.sms.service import SmsService
from otpservice.verify.codes import TEST_NUMBER_KEY_ID, CodeBook, fixed_code_matches, new_salt
from otpservice.verify.message_text import MessageTemplates
from otpservice.verify.policy import NumberPolicy
from otpservice.verify.scope import ServiceScope
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
    def __init__(
        self,
        store: VerificationStore,
        messages: MessageStore,
        sender: CodeSender,
        codes: CodeBook,
        policy: NumberPolicy,
        sms: SmsService,
        templates: MessageTemplates,
        rules: VerificationRules,
        clock: Clock,
        guard: FraudGuard,
    ) -> None:
        self._store, self._messages, self._sender = store, messages, sender
        self._guard = guard  # the SMS-pumping breaker (fraud/): decides before the send budget
        self._codes, self._policy, self._sms = codes, policy, sms
        self._templates, self._rules, self._clock = templates, rules, clock

    async def start(
        self,
        to: str,
        *,
        client_ip: str,
        locale: str | None = None,
        app_hash: str | None = None,
        service: ServiceScope | None = None,
    ) -> StartOutcome:
        """Send a code to `to`: a new verification, or the same code again for a pending one.

        Under a Twilio-compatible `service` the code has its length and names its app. Only a
        pending verification of the same service (None: native starts) is re-sent; another
        one pending for the number is canceled once the new code's send is reserved, as the
        number has one pending at a time."""
        to = self._policy.canonical(to)
        app_name = service.app_name if service is not None else None
        scope_sid = service.sid if service is not None else None
        self._policy.ensure_allowed(to)
        test_number = self._policy.fixed_code_for(to) is not None
        if not test_number:  # breaker: before anything is charged to the number
            await self._guard.before_start(to)
        sender = None if test_number else await self._sms.prepare()
        for _ in range(START_ROUNDS):
            current = await self._store.open_for(to)
            if current is not None and current.status == MAX_ATTEMPTS_REACHED:
                self._refuse_while_exhausted(current)  # raises until that one's expiry
                reservation = await self._reserve(to, client_ip, test_number)
            elif current is not None and not await self._expire_if_due(current):
                if current.service_sid == scope_sid:
                    self._sender.refuse_if_used_up(current)
                    reservation = await self._reserve(to, client_ip, test_number)
                    resent = await self._sender.resend(current, reservation, sender, app_name=app_name)
                    if resent is not None:
                        metrics.verification_event("resent")
                        _log_info("verification resent", resent)
                        return StartOutcome(self._view(resent), created=False, rate_window=reservation.rate_window())
                    continue
                reservation = await self._reserve(to, client_ip, test_number)
                await self._supersede(current)
            else:
                reservation = await self._reserve(to, client_ip, test_number)
            created = self._new_verification(to, client_ip, locale, app_hash, service)
            # A code's verification is inserted with its message row (one transaction); a test
            # number's, which gets no message, alone. Another start winning the race: read it.
            if test_number and not await self._store.add_pending(created):
                await self._sms.budget.release(reservation)
                continue
            sent = await self._sender.send_first(created, reservation, sender, app_name=app_name)
            if sent is not None:
                metrics.verification_event("started")
                _log_info("verification started", sent)
                return StartOutcome(self._view(sent), created=True, rate_window=reservation.rate_window())
        raise NumberDelayed("Concurrent requests for this number, retry", retry_after=1)

    async def _reserve(self, to: str, client_ip: str, test_number: bool) -> Reservation:
        """The one send budget: global window, client cap, number caps, delay, spend budgets.
        A test number gets no SMS: no delay and no spend, the caps still hold."""
        return await self._sms.budget.reserve(
            to, kind="otp", country=country_of(to), client=client_ip, delay=not test_number, spend=not test_number
        )

    async def check(
        self,
        code: str,
        *,
        client_ip: str,
        verification_id: str | None = None,
        to: str | None = None,
        service: ServiceScope | None = None,
    ) -> CheckOutcome:
        """Under a `service`, only its verifications and service-less ones are found."""
        await self._sms.budget.count_client(client_ip)
        if to is not None:
            to = self._policy.canonical(to)
        if verification_id is not None and not VERIFICATION_ID.match(verification_id):
            metrics.check_result("not_found")
            raise VerificationNotFound()
        now = self._clock.now()
        result = await self._store.check(
            to_datetime(now),
            self._judge(code),
            verification_id=verification_id,
            to=to,
            service_sid=service.sid if service is not None else None,
        )
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

    async def approve(self, verification_id: str) -> VerificationView:
        """Approve a pending verification without its code (Twilio's update to `approved`)."""
        approved = (
            await self._store.approve(verification_id, to_datetime(self._clock.now()))
            if VERIFICATION_ID.match(verification_id)
            else None
        )
        if approved is None:
            raise VerificationNotFound()
        metrics.verification_event("approved")
        _log_info("verification approved", approved)
        return self._view(approved)

    def _new_verification(
        self, to: str, client_ip: str, locale: str | None, app_hash: str | None, service: ServiceScope | None = None
    ) -> Verification:
        now = self._clock.now()
        fixed_code = self._policy.fixed_code_for(to)
        return Verification(
            id="VE" + uuid.uuid4().hex,
            to=to,
            country=country_of(to),
            channel="sms",
            status=PENDING,
            code_salt=new_salt(),
            key_id=TEST_NUMBER_KEY_ID if fixed_code is not None else self._codes.current_key_id,
            code_length=len(fixed_code)
            if fixed_code is not None
            else service.code_length
            if service is not None
            else self._rules.code_length,
            service_sid=service.sid if service is not None else None,
            locale=self._templates.resolve_locale(locale),
            app_hash=app_hash,
            # The first send is taken at creation; given back if that send is refused.
            send_attempts=1,
            check_attempts=0,
            max_check_attempts=self._rules.max_check_attempts,
            client_ip_hash=self._codes.pseudonym(client_ip),
            created_at=to_datetime(now),
            updated_at=to_datetime(now),
            expires_at=to_datetime(now + self._rules.ttl_seconds),
            last_sent_at=to_datetime(now),
            last_message_id=None if fixed_code is not None else new_message_id(),
        )

    def _judge(self, candidate: str) -> Callable[[Verification], bool]:
        def judge(verification: Verification) -> bool:
            if verification.key_id == TEST_NUMBER_KEY_ID:
                return fixed_code_matches(self._policy.fixed_code_for(verification.to), candidate)
            return self._codes.matches(
                verification.id, verification.code_salt, verification.key_id, verification.code_length, candidate
            )

        return judge

    async def _supersede(self, other: Verification) -> None:
        """A start under another service (or none) ends the number's pending verification."""
        if await self._store.cancel(other.id, to_datetime(self._clock.now())) is not None:
            metrics.verification_event("canceled")
            _log_info("verification superseded by another service's start", other)

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
        return describe(
            verification, delay=self._rules.delay, max_sends=self._rules.max_sends, delivery_status=delivery_status
        )


def _log_info(message: str, verification: Verification) -> None:
    log.info(message, extra=_log_fields(verification))


def _log_fields(verification: Verification) -> dict[str, object]:
    return {
        "verification_id": verification.id,
        "to": mask_phone(verification.to),
        "send_attempts": verification.send_attempts,
        "check_attempts": verification.check_attempts,
    }
