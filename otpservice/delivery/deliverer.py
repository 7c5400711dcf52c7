"""One attempt at a claimed message and what it leaves behind, for the inline send and the
worker alike: the provider chain, then the retry policy, then one write of the outcome."""

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from otpservice.clock import Clock, to_datetime
from otpservice.core.statuses import CODE_KIND, PENDING
from otpservice.db.messages import MessageStore, Outcome
from otpservice.db.models import Message
from otpservice.db.verifications import VerificationStore
from otpservice.delivery import states
from otpservice.delivery.chain import AttemptResult, ProviderChain
from otpservice.delivery.policy import RetryPolicy
from otpservice.errors import ProviderError
from otpservice.observability import metrics
from otpservice.providers.base import OutgoingSms

log = logging.getLogger("otpservice.delivery")
# Waits between tries to record a send the provider accepted while the database failed.
RECORD_RETRY_SECONDS = (0.2, 0.5, 1, 2, 5, 10, 30, 60)
CALLBACK_URL_MAX = 512  # the column's size


@dataclass(frozen=True)
class Delivered:
    status: str  # sent, queued or failed
    provider: str
    sid: str | None = None
    segments: int | None = None
    error: ProviderError | None = None  # for `failed`: what the caller is told


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(name for name in (value or "").split(",") if name)


def _signed_callback(result: AttemptResult) -> str | None:
    """Twilio signs its receipts over the exact callback URL it was given: kept to check them.
    The other providers' URLs carry WEBHOOK_SECRET, which no row may hold."""
    url = result.callback_url
    return url if result.provider == "twilio" and url and len(url) <= CALLBACK_URL_MAX else None


class Deliverer:
    def __init__(
        self,
        chain: ProviderChain,
        messages: MessageStore,
        verifications: VerificationStore,
        policy: RetryPolicy,
        clock: Clock,
    ) -> None:
        self.chain, self.policy = chain, policy
        self._messages, self._verifications, self._clock = messages, verifications, clock
        # Sends the provider accepted whose record the database refused: never sent again here.
        self.unrecorded: set[str] = set()
        # Attempts under way in this process: a slow one is never taken for a crashed one.
        self._in_flight: set[str] = set()
        self._recorders: set[asyncio.Task[None]] = set()

    async def attempt(self, message: Message, sms: OutgoingSms) -> Delivered:
        refused = _names(message.refused_by)
        self._in_flight.add(message.id)
        try:
            result = await self.chain.attempt(
                sms,
                self.policy.candidates(refused, message.retry_provider),
                refused,
                hands_over=self.policy.hands_over_at_once,
            )
            if result.receipt is not None:
                return await self._sent(message, result)
            return await self._not_sent(message, result)
        finally:
            self._in_flight.discard(message.id)

    async def _sent(self, message: Message, result: AttemptResult) -> Delivered:
        receipt = result.receipt
        assert receipt is not None
        outcome = Outcome(
            status=states.SENT,
            provider=result.provider,
            provider_sid=receipt.sid,
            provider_status=receipt.provider_status,
            segments=receipt.segments,
            callback_url=_signed_callback(result),
            parts=receipt.part_ids,
            refused_by=",".join(result.refused_by) or None,
        )
        try:
            if not await self._messages.finish_attempt(message.id, to_datetime(self._clock.now()), outcome):
                log.warning("accepted send found its claim taken over", extra={"message_id": message.id})
        except (SQLAlchemyError, OSError):
            # The provider has the message: the caller is told so, and it is never sent again.
            log.exception(
                "could not record an accepted send; retrying the write",
                extra={"message_id": message.id, "provider": result.provider},
            )
            self.unrecorded.add(message.id)
            task = asyncio.create_task(self._record_later(message.id, outcome))
            self._recorders.add(task)
            task.add_done_callback(self._recorders.discard)
        metrics.message_outcome(result.provider, states.SENT)
        return Delivered(states.SENT, result.provider, sid=receipt.sid, segments=receipt.segments)

    async def _record_later(self, message_id: str, outcome: Outcome) -> None:
        for wait in RECORD_RETRY_SECONDS:
            await asyncio.sleep(wait)
            try:
                await self._messages.finish_attempt(message_id, to_datetime(self._clock.now()), outcome)
            except (SQLAlchemyError, OSError):
                continue
            self.unrecorded.discard(message_id)
            log.info("accepted send recorded late", extra={"message_id": message_id})
            return
        log.error("accepted send left unrecorded", extra={"message_id": message_id})

    async def _not_sent(self, message: Message, result: AttemptResult) -> Delivered:
        error = result.error
        assert error is not None
        decision = self.policy.after_failure(
            message.attempts,
            error,
            provider=result.provider,
            refused_by=result.refused_by,
            ambiguous_before=message.ambiguous_count or 0,
        )
        now = self._clock.now()
        failed = not decision.retry
        outcome = Outcome(
            status=decision.ends if failed else states.QUEUED,
            provider=result.provider,
            error_code=error.code,
            error_message=error.message,
            detail=error.message,
            next_attempt_at=None if failed else to_datetime(now + decision.delay),
            refused_by=",".join(result.refused_by) or None,
            retry_provider=decision.retry_provider,
            ambiguous_count=(message.ambiguous_count or 0) + error.may_have_sent,
            before=(states.AMBIGUOUS,) if error.may_have_sent and decision.ends != states.AMBIGUOUS else (),
        )
        await self._messages.finish_attempt(message.id, to_datetime(now), outcome)
        if failed:
            await self._finished_for_good(message, decision.ends)
            caller_error = result.refusal if self.policy.all_refused(result.refused_by) and result.refusal else error
            return Delivered(states.FAILED, result.provider, error=caller_error)
        log.info(
            "sms retry scheduled",
            extra={
                "message_id": message.id,
                "attempts": message.attempts,
                "code": error.code,
                "provider": decision.retry_provider,
            },
        )
        return Delivered(states.QUEUED, result.provider, error=error)

    async def recover_lease(self, message: Message) -> bool:
        """A `sending` message past its lease: its process died mid-call, so it may have sent."""
        if message.id in self.unrecorded or message.id in self._in_flight:
            return False
        # Which provider had the call is unknown: the one its attempt asked first, most likely.
        asked = (self.policy.candidates(_names(message.refused_by), message.retry_provider) or [message.provider])[0]
        decision = self.policy.after_lease_expired(
            message.attempts, provider=asked, ambiguous_before=message.ambiguous_count or 0
        )
        now = self._clock.now()
        detail = "the attempt was interrupted (lease expired): it may have been sent"
        outcome = Outcome(
            status=states.QUEUED if decision.retry else decision.ends,
            provider=asked,
            error_code="lease_expired",
            error_message=detail,
            detail=detail,
            next_attempt_at=to_datetime(now + decision.delay) if decision.retry else None,
            retry_provider=decision.retry_provider,
            ambiguous_count=(message.ambiguous_count or 0) + 1,
            before=(states.AMBIGUOUS,) if decision.ends != states.AMBIGUOUS else (),
        )
        if not await self._messages.finish_attempt(
            message.id, to_datetime(now), outcome, lease_expired_before=to_datetime(now)
        ):
            return False
        if not decision.retry:
            await self._finished_for_good(message, decision.ends)
        return True

    async def still_wanted(self, message: Message) -> bool:
        """A queued code is sent only while its verification is pending; else it ends `canceled`."""
        if message.kind != CODE_KIND or message.verification_id is None:
            return True
        verification = await self._verifications.get(message.verification_id)
        now = self._clock.now()
        if verification is not None and verification.status == PENDING and verification.expires_at.timestamp() > now:
            return True
        reason = (
            "expired"
            if verification is not None and verification.status == PENDING
            else (verification.status if verification is not None else "gone")
        )
        detail = f"not sent: the verification is {reason}"
        await self._messages.finish_attempt(
            message.id,
            to_datetime(now),
            Outcome(
                status=states.CANCELED,
                provider=message.provider,
                error_code="verification_not_pending",
                error_message=detail,
                detail=detail,
            ),
        )
        metrics.message_outcome(message.provider, states.CANCELED)
        log.info("queued code canceled", extra={"message_id": message.id, "reason": reason})
        return False

    async def _finished_for_good(self, message: Message, status: str) -> None:
        metrics.message_outcome(message.provider, status)
        log.warning(
            "sms failed for good" if status == states.FAILED else "sms ended ambiguous, never sent again",
            extra={"message_id": message.id, "attempts": message.attempts},
        )
        if status == states.AMBIGUOUS or message.kind != CODE_KIND or message.verification_id is None:
            return  # a code that may have arrived leaves its verification pending
        verification = await self._verifications.get(message.verification_id)
        # Only the verification's latest code fails it: an older message's fate says nothing.
        if verification is not None and verification.last_message_id in (message.id, None):
            if await self._verifications.mark_failed(verification.id, to_datetime(self._clock.now())):
                metrics.verification_event("failed")
