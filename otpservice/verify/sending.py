"""Sending a verification's code: the send slot, the SMS through SmsService, the outcome recorded.

The code is derived again for every send (never stored), so a re-send carries the same code.
The caller has reserved the send in the send budget (delay, caps, client, global window);
a send refused before the provider gives back its reservation and its slot. A send the
provider failed counts and ends the verification as failed; the provider's error goes to
the caller.
"""

import logging
from datetime import datetime

from otpservice.clock import Clock, to_datetime
from otpservice.core.statuses import CODE_KIND, MAX_ATTEMPTS_REACHED, PENDING
from otpservice.db.messages import PendingTaken
from otpservice.db.models import Verification
from otpservice.db.verifications import VerificationStore
from otpservice.errors import MaxAttemptsReached, MaxSendsReached, ProviderError
from otpservice.fraud.guard import FraudGuard
from otpservice.limits.budget import Reservation
from otpservice.observability import metrics
from otpservice.sms.service import SmsService
from otpservice.verify.codes import TEST_NUMBER_KEY_ID, CodeBook
from otpservice.verify.message_text import MessageTemplates, email_body

MESSAGE_KIND = CODE_KIND
log = logging.getLogger("otpservice.verify")


class CodeSender:
    def __init__(
        self,
        store: VerificationStore,
        sms: SmsService,
        codes: CodeBook,
        templates: MessageTemplates,
        clock: Clock,
        *,
        max_sends: int,
        guard: FraudGuard,
    ) -> None:
        self._store, self._sms, self._codes = store, sms, codes
        self._guard = guard  # the breaker counts a verification once its first SMS was accepted
        self._templates, self._clock, self._max_sends = templates, clock, max_sends

    def refuse_if_used_up(self, verification: Verification) -> None:
        """Before reserving: a pending verification with no send left is refused at once."""
        retry_after = verification.expires_at.timestamp() - self._clock.now()
        if verification.send_attempts >= self._max_sends and retry_after > 0:
            raise MaxSendsReached(retry_after=retry_after)

    async def send_first(
        self,
        verification: Verification,
        reservation: Reservation,
        sender: str | None,
        *,
        app_name: str | None = None,
        fallback: tuple[str, ...] = (),
    ) -> Verification | None:
        """Send the code of a verification just made (its first send slot already taken), and
        insert it with its message row; None when its number has a pending one meanwhile.
        `app_name`: the name the message gives (default OTP_APP_NAME). `fallback`: the channel
        the same code goes on, once, when the provider refuses the first one."""
        return await self._send(
            verification,
            reservation,
            sender,
            created=True,
            app_name=app_name,
            channel=verification.channel,
            fallback=fallback,
        )

    async def resend(
        self,
        pending: Verification,
        reservation: Reservation,
        sender: str | None,
        *,
        app_name: str | None = None,
        channel: str | None = None,
        fallback: tuple[str, ...] = (),
    ) -> Verification | None:
        """Send the same code again. None when the verification is over meanwhile (approved,
        canceled, expired, its key rotated out; also when that happened during the send): the
        caller starts a new one. Raises
        MaxSendsReached / MaxAttemptsReached when it is still pending but used up."""
        now = self._clock.now()
        if pending.key_id != TEST_NUMBER_KEY_ID and self._code_of(pending) is None:
            await self._sms.budget.release(reservation)
            await self._fail(pending, to_datetime(now))  # its key was rotated out: start anew
            return None
        taken = await self._store.take_send_slot(pending.id, self._max_sends, to_datetime(now))
        if taken is None:
            await self._sms.budget.release(reservation)
            await self._refuse_if_used_up(pending.id, now)
            return None
        return await self._send(
            taken,
            reservation,
            sender,
            created=False,
            app_name=app_name,
            channel=channel or pending.channel,
            fallback=fallback,
        )

    async def _refuse_if_used_up(self, verification_id: str, now: float) -> None:
        current = await self._store.get(verification_id)
        if current is None or current.status not in (PENDING, MAX_ATTEMPTS_REACHED):
            return
        retry_after = current.expires_at.timestamp() - now
        if retry_after <= 0:
            return
        if current.check_attempts >= current.max_check_attempts:
            raise MaxAttemptsReached(retry_after=retry_after)
        if current.send_attempts >= self._max_sends:
            raise MaxSendsReached(retry_after=retry_after)

    async def _send(
        self,
        verification: Verification,
        reservation: Reservation,
        sender: str | None,
        *,
        created: bool,
        app_name: str | None = None,
        channel: str = "sms",
        fallback: tuple[str, ...] = (),
        first: bool | None = None,
    ) -> Verification | None:
        """`first`: the verification's first send, which the breaker counts (default `created`)."""
        first = created if first is None else first
        now = to_datetime(self._clock.now())
        if verification.key_id == TEST_NUMBER_KEY_ID:
            # A test number gets no SMS; its reservation (caps, client, global) stays taken.
            return (
                await self._store.record_send(verification.id, now, message_id=None, delivery_status=None)
                or verification
            )
        code = self._code_of(verification)
        if code is None:
            await self._sms.budget.release(reservation)
            await self._fail(verification, now)
            return None
        body, language = self._body(verification, code, channel, app_name)
        # A new verification was inserted naming its first message: no UPDATE after the send.
        message_id = verification.last_message_id if created else None
        try:
            result = await self._sms.deliver(
                verification.to,
                body,
                sender,
                reservation=reservation,
                kind=MESSAGE_KIND,
                verification_id=verification.id,
                message_id=message_id,
                new_verification=verification if created else None,
                channel=channel,
                language=language,
            )
        except PendingTaken:  # a new one lost the race for its number (reservation given back)
            return None
        except ProviderError as refusal:  # the provider was called and did not take the message
            if fallback and not refusal.may_have_sent:
                sent = await self._fall_back(verification, reservation, sender, app_name, fallback, first=first)
                if sent is not None:
                    return sent
            await self._fail(verification, now)
            if not first:  # breaker: a failed verification never settles
                await self._guard.settled(verification, "failed")
            raise
        except BaseException:  # refused before the provider: deliver gave the reservation back
            await self._store.give_back_send_slot(verification.id, now)
            if created:
                await self._store.discard_unsent(verification.id)
            raise
        if first and result.status == "sent":
            await self._guard.sent(verification)  # breaker; a queued first SMS counts once delivered
        if created:
            verification.delivery_status = result.status
            return verification
        try:
            recorded = await self._store.record_send(
                verification.id, now, message_id=result.message_id, delivery_status=result.status
            )
        except Exception:  # the SMS is out and its message row says so: the caller gets its answer
            log.exception(
                "re-send recorded on its message but not on the verification",
                extra={"verification_id": verification.id},
            )
            return verification
        if recorded is not None and recorded.status != PENDING:
            # Ended while its code was being sent (another service's start canceled it, a check
            # approved it): never answered as the start's result; the caller starts anew.
            extra = {"verification_id": verification.id, "status": recorded.status}
            log.info("re-sent verification ended meanwhile", extra=extra)
            return None
        return recorded or verification

    def _body(
        self, verification: Verification, code: str, channel: str, app_name: str | None
    ) -> tuple[str, str | None]:
        """The message for `channel`, and the language of a call's voice."""
        locale = verification.locale
        if channel == "call":
            text = self._templates.render_call(locale, code, app_name=app_name)
            return text, self._templates.voice_language(locale)
        if channel == "email":
            return email_body(self._templates.render_email(locale, code, app_name=app_name)), None
        app_hash = verification.app_hash if channel == "sms" else None
        return self._templates.render(locale, code, app_hash, app_name=app_name), None

    async def _fall_back(
        self,
        verification: Verification,
        reservation: Reservation,
        sender: str | None,
        app_name: str | None,
        fallback: tuple[str, ...],
        *,
        first: bool,
    ) -> Verification | None:
        """The same code on the next channel, once: a send of its own in the verification's
        attempts (one more send slot), under the start's reservation (one start, one charge)."""
        now = to_datetime(self._clock.now())
        taken = await self._store.take_fallback_slot(verification.id, self._max_sends + 1, now)
        if taken is None:
            return None
        log.info("code sent again on the fallback channel", extra={"verification_id": verification.id})
        return await self._send(
            taken, reservation, sender, created=False, app_name=app_name, channel=fallback[0], first=first
        )

    def _code_of(self, verification: Verification) -> str | None:
        return self._codes.code_for(
            verification.id, verification.code_salt, verification.key_id, verification.code_length
        )

    async def _fail(self, verification: Verification, now: datetime) -> None:
        if await self._store.mark_failed(verification.id, now):
            metrics.verification_event("failed")
