"""Starting a verification: a new one, the same code re-sent for a pending one, or another
service's pending one superseded; each send reserved in the one send budget first."""

import uuid

from otpservice.clock import Clock, to_datetime
from otpservice.core.email import canonical_email, is_email
from otpservice.core.phone import country_of
from otpservice.core.statuses import MAX_ATTEMPTS_REACHED, PENDING
from otpservice.db.models import Verification
from otpservice.db.outage import is_outage
from otpservice.db.verifications import VerificationStore
from otpservice.delivery.dispatch import new_message_id
from otpservice.errors import (
    ChannelUnavailable,
    DatabaseUnavailable,
    InvalidRequest,
    LimitsUnavailable,
    MaxAttemptsReached,
    NumberDelayed,
)
from otpservice.fraud.guard import FraudGuard
from otpservice.limits.budget import Reservation
from otpservice.observability import metrics
from otpservice.sms.service import SmsService
from otpservice.verify.bookkeeping import Bookkeeping, VerificationRules, log_info
from otpservice.verify.codes import TEST_NUMBER_KEY_ID, CodeBook, new_salt
from otpservice.verify.message_text import MessageTemplates
from otpservice.verify.policy import NumberPolicy
from otpservice.verify.scope import ServiceScope
from otpservice.verify.sending import CodeSender
from otpservice.verify.views import StartOutcome

# A start that keeps losing races for its number (each loser re-reads the winner) gives up.
START_ROUNDS = 3


class VerificationStarter:
    def __init__(
        self,
        store: VerificationStore,
        sender: CodeSender,
        codes: CodeBook,
        policy: NumberPolicy,
        sms: SmsService,
        templates: MessageTemplates,
        rules: VerificationRules,
        clock: Clock,
        guard: FraudGuard,
        books: Bookkeeping,
    ) -> None:
        self._store, self._sender, self._books = store, sender, books
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
        channel: str = "sms",
        fallback: tuple[str, ...] = (),
    ) -> StartOutcome:
        """Send a code to `to`: a new verification, or the same code again for a pending one.

        Under a Twilio-compatible `service` the code has its length and names its app. Only a
        pending verification of the same service (None: native starts) is re-sent; another
        one pending for the number is canceled once the new code's send is reserved, as the
        number has one pending at a time. `channel`: sms, whatsapp, call or email (`to` an
        email address); `fallback`: the channel the same code goes on when the first is refused."""
        for wanted in (channel, *fallback[:1]):
            if not self._sms.serves(wanted):
                raise ChannelUnavailable(f"The configured provider cannot send on the {wanted} channel")
        if fallback[:1] and "email" in (channel, fallback[0]):
            raise InvalidRequest("fallback: an email address has no other channel, nor a number an email")
        email = channel == "email"
        to = canonical_email(to) if email else self._policy.canonical(to)
        app_name = service.app_name if service is not None else None
        scope_sid = service.sid if service is not None else None
        if not email:
            self._policy.ensure_allowed(to)
        test_number = not email and self._policy.fixed_code_for(to) is not None
        if not test_number and not email:  # breaker: before anything is charged to the number
            await self._breaker_allows(to)
        sms_wanted = "sms" in (channel, *fallback[:1])
        sender = None if test_number or email else await self._sms.prepare(sender_needed=sms_wanted)
        for _ in range(START_ROUNDS):
            current = await self._store.open_for(to)
            if current is not None and current.status == MAX_ATTEMPTS_REACHED:
                self._refuse_while_exhausted(current)  # raises until that one's expiry
                reservation = await self._reserve(to, client_ip, test_number)
            elif current is not None and not await self._books.expire_if_due(current):
                if current.service_sid == scope_sid:
                    self._sender.refuse_if_used_up(current)
                    reservation = await self._reserve(to, client_ip, test_number)
                    resent = await self._sender.resend(
                        current, reservation, sender, app_name=app_name, channel=channel, fallback=fallback[:1]
                    )
                    if resent is not None:
                        metrics.verification_event("resent")
                        log_info("verification resent", resent)
                        return StartOutcome(
                            self._books.view(resent), created=False, rate_window=reservation.rate_window()
                        )
                    continue
                reservation = await self._reserve(to, client_ip, test_number)
                await self._supersede(current)
            else:
                reservation = await self._reserve(to, client_ip, test_number)
            created = self._new_verification(to, client_ip, locale, app_hash, service, channel)
            # A code's verification is inserted with its message row (one transaction); a test
            # number's, which gets no message, alone. Another start winning the race: read it.
            if test_number and not await self._store.add_pending(created):
                await self._sms.budget.release(reservation)
                continue
            sent = await self._sender.send_first(created, reservation, sender, app_name=app_name, fallback=fallback[:1])
            if sent is not None:
                metrics.verification_event("started")
                log_info("verification started", sent)
                return StartOutcome(self._books.view(sent), created=True, rate_window=reservation.rate_window())
        raise NumberDelayed("Concurrent requests for this number, retry", retry_after=1)

    async def _breaker_allows(self, to: str) -> None:
        try:
            await self._guard.before_start(to)
        except LimitsUnavailable as refusal:  # the database down is told as such (SPEC 24)
            if refusal.__context__ is not None and is_outage(refusal.__context__):
                raise DatabaseUnavailable() from None
            raise

    async def _reserve(self, to: str, client_ip: str, test_number: bool) -> Reservation:
        """The one send budget: global window, client cap, number caps, delay, spend budgets.
        A test number gets no SMS: no delay and no spend, the caps still hold."""
        if is_email(to):  # an address's own delay and caps; no spend (no SMS)
            return await self._sms.budget.reserve(to, kind="email", country=None, client=client_ip, spend=False)
        return await self._sms.budget.reserve(
            to, kind="otp", country=country_of(to), client=client_ip, delay=not test_number, spend=not test_number
        )

    def _new_verification(
        self,
        to: str,
        client_ip: str,
        locale: str | None,
        app_hash: str | None,
        service: ServiceScope | None = None,
        channel: str = "sms",
    ) -> Verification:
        now = self._clock.now()
        fixed_code = self._policy.fixed_code_for(to)
        return Verification(
            id="VE" + uuid.uuid4().hex,
            to=to,
            country=None if channel == "email" else country_of(to),
            channel=channel,
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

    async def _supersede(self, other: Verification) -> None:
        """A start under another service (or none) ends the number's pending verification."""
        if await self._store.cancel(other.id, to_datetime(self._clock.now())) is not None:
            metrics.verification_event("canceled")
            log_info("verification superseded by another service's start", other)

    def _refuse_while_exhausted(self, exhausted: Verification) -> None:
        """A number whose last verification spent its attempts waits for that one's expiry."""
        retry_after = exhausted.expires_at.timestamp() - self._clock.now()
        if retry_after > 0:
            raise MaxAttemptsReached(retry_after=retry_after)
