"""VerificationService: the one entry point to start (send a code), check it, look a verification up, cancel it.

The start itself is VerificationStarter's (starting.py); the checks and look-ups are here.
It knows nothing of HTTP: it raises the errors of errors.py and returns views.
"""

import re
from collections.abc import Callable

from otpservice.clock import Clock, to_datetime
from otpservice.core.email import canonical_email
from otpservice.core.statuses import MAX_ATTEMPTS_REACHED, PENDING
from otpservice.db.messages import MessageStore
from otpservice.db.models import Verification
from otpservice.db.verifications import CheckOutcome as StoredOutcome, VerificationStore
from otpservice.errors import MaxAttemptsReached, VerificationNotFound
from otpservice.fraud.guard import FraudGuard
from otpservice.observability import metrics
from otpservice.sms.service import SmsService
from otpservice.verify.bookkeeping import (
    Bookkeeping,
    VerificationRules as VerificationRules,  # factory.py builds it from here
    log_info,
)
from otpservice.verify.codes import TEST_NUMBER_KEY_ID, CodeBook, fixed_code_matches
from otpservice.verify.message_text import MessageTemplates
from otpservice.verify.policy import NumberPolicy
from otpservice.verify.scope import ServiceScope
from otpservice.verify.sending import CodeSender
from otpservice.verify.starting import VerificationStarter
from otpservice.verify.views import CheckOutcome, StartOutcome, VerificationView

VERIFICATION_ID = re.compile(r"^VE[0-9a-f]{32}$")


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
        self._store, self._messages = store, messages
        self._guard = guard  # the SMS-pumping breaker (fraud/): told how each verification ended
        self._codes, self._policy, self._sms, self._clock = codes, policy, sms, clock
        self._books = Bookkeeping(store, guard, rules, clock)
        self._starter = VerificationStarter(
            store, sender, codes, policy, sms, templates, rules, clock, guard, books=self._books
        )

    async def start(
        self,
        to: str,
        *,
        client_ip: str,
        locale: str | None = None,
        app_hash: str | None = None,
        service: ServiceScope | None = None,
        channel: str = "sms",
        fallback: tuple[str, ...] = (),
    ) -> StartOutcome:
        """Send a code to `to`: a new verification, or the same code again for a pending one."""
        return await self._starter.start(
            to,
            client_ip=client_ip,
            locale=locale,
            app_hash=app_hash,
            service=service,
            channel=channel,
            fallback=fallback,
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
            to = canonical_email(to) if "@" in to else self._policy.canonical(to)
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
            log_info("verification approved", found)
            await self._guard.settled(found, "approved")  # breaker
            return CheckOutcome(self._books.view(found), valid=True)
        if result.outcome is StoredOutcome.WRONG_CODE and found is not None:
            metrics.check_result("wrong_code")
            if found.status == MAX_ATTEMPTS_REACHED:
                metrics.verification_event("max_attempts_reached")
                log_info("verification attempts exhausted", found)
                await self._guard.settled(found, "ended")  # breaker
            return CheckOutcome(self._books.view(found), valid=False)
        if result.outcome is StoredOutcome.NO_ATTEMPTS_LEFT and found is not None:
            metrics.check_result("max_attempts_reached")
            raise MaxAttemptsReached(retry_after=found.expires_at.timestamp() - now)
        if result.outcome is StoredOutcome.EXPIRED and found is not None:
            await self._books.expire_if_due(found)
        metrics.check_result("not_found")
        raise VerificationNotFound()

    async def get(self, verification_id: str) -> VerificationView:
        """A verification in any state."""
        found = await self._store.get(verification_id) if VERIFICATION_ID.match(verification_id) else None
        if found is None:
            raise VerificationNotFound("Verification not found")
        if found.status == PENDING and await self._books.expire_if_due(found):
            found = await self._store.get(verification_id) or found
        delivery_status = None
        if found.last_message_id:
            message = await self._messages.get(found.last_message_id)
            delivery_status = message.status if message else None
        return self._books.view(found, delivery_status)

    async def cancel(self, verification_id: str) -> VerificationView:
        if not VERIFICATION_ID.match(verification_id):
            raise VerificationNotFound()
        canceled = await self._store.cancel(verification_id, to_datetime(self._clock.now()))
        if canceled is None:
            found = await self._store.get(verification_id)
            if found is not None and found.status == PENDING:
                await self._books.expire_if_due(found)
            raise VerificationNotFound()
        metrics.verification_event("canceled")
        log_info("verification canceled", canceled)
        await self._guard.settled(canceled, "ended")  # breaker
        return self._books.view(canceled)

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
        log_info("verification approved", approved)
        return self._books.view(approved)

    def _judge(self, candidate: str) -> Callable[[Verification], bool]:
        def judge(verification: Verification) -> bool:
            if verification.key_id == TEST_NUMBER_KEY_ID:
                return fixed_code_matches(self._policy.fixed_code_for(verification.to), candidate)
            return self._codes.matches(
                verification.id, verification.code_salt, verification.key_id, verification.code_length, candidate
            )

        return judge
