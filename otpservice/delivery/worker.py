"""Drains the outbox: recovers expired leases, claims due messages (codes first) and
attempts them at the provider rate; the retry policy (policy.py) decides what follows.

It stops between two messages: on SIGTERM the call in flight finishes, and whatever is
still queued stays queued for the next process.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from otpservice.clock import Clock, to_datetime
from otpservice.db.messages import MessageStore, Outcome
from otpservice.db.models import Message
from otpservice.delivery import states
from otpservice.delivery.crypto import BodyCipher
from otpservice.delivery.deliverer import Deliverer
from otpservice.delivery.throttle import ProviderThrottle
from otpservice.errors import OTPServiceError
from otpservice.providers.base import OutgoingSms

log = logging.getLogger("otpservice.delivery")


class OutboxWorker:
    def __init__(
        self,
        messages: MessageStore,
        deliverer: Deliverer,
        cipher: BodyCipher,
        throttle: ProviderThrottle | None,
        clock: Clock,
        *,
        queue_enabled: bool = True,
        batch_size: int = 50,
        on_sent: Callable[[Message], Awaitable[None]] | None = None,
        charge_resend: Callable[[Message], Awaitable[None]] | None = None,
    ) -> None:
        self._messages, self._deliverer, self._cipher = messages, deliverer, cipher
        self._throttle, self._clock = throttle, clock
        self._queue_enabled, self._batch_size = queue_enabled, batch_size
        self._on_sent = on_sent  # e.g. the breaker, which counts a verification's first SMS once sent
        # The spend budgets, charged for a re-send after an ambiguous attempt; raises when refused.
        self._charge_resend = charge_resend
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Finish the attempt in flight, start no other."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self, idle_seconds: float = 0.5) -> None:
        while not self._stop.is_set():
            try:
                handled = await self.drain_once()
            except Exception:
                log.exception("outbox pass failed")
                handled = 0
            if handled == 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), idle_seconds)
                except TimeoutError:
                    pass

    async def drain_once(self) -> int:
        """One pass over the due messages; returns how many were attempted. With the queue
        off it only recovers expired leases (those messages are never sent again)."""
        now = to_datetime(self._clock.now())
        for expired in await self._messages.expired_leases(now):
            await self._deliverer.recover_lease(expired)
        if not self._queue_enabled:
            return 0
        attempted = 0
        for message_id in await self._messages.due_ids(now, self._batch_size):
            if self._stop.is_set():
                break
            if self._throttle and not await self._throttle.acquire(stop=self._stop):
                break
            now = to_datetime(self._clock.now())
            lease = to_datetime(self._clock.now() + self._deliverer.policy.lease_seconds)
            message = await self._messages.claim(message_id, now, lease)
            if message is None:
                continue
            attempted += 1
            try:
                await self._attempt(message)
            except Exception as exc:  # never leave a claimed message to loop on its lease
                log.exception("outbox attempt crashed", extra={"message_id": message.id})
                detail = f"attempt crashed: {type(exc).__name__}"
                await self._messages.finish_attempt(
                    message.id,
                    to_datetime(self._clock.now()),
                    Outcome(status=states.FAILED, error_code="internal_error", error_message=detail, detail=detail),
                )
        return attempted

    async def _attempt(self, message: Message) -> None:
        if not await self._deliverer.still_wanted(message):
            return
        body = self._cipher.decrypt(message.body_ciphertext or b"", message.id)
        if body is None:
            detail = "the outbox body cannot be decrypted"
            await self._messages.finish_attempt(
                message.id,
                to_datetime(self._clock.now()),
                Outcome(status=states.FAILED, error_code="body_unreadable", error_message=detail, detail=detail),
            )
            return
        if message.retry_provider is not None and not await self._charged_again(message):
            return
        sms = OutgoingSms(
            receiver=message.receiver,
            body=body,
            sender=message.sender,
            client_ref=message.id,
            channel=message.channel,
            language=message.language,
        )
        delivered = await self._deliverer.attempt(message, sms)
        log.info(
            "queued sms attempted",
            extra={
                "provider": delivered.provider,
                "message_id": message.id,
                "attempts": message.attempts,
                "status": delivered.status,
            },
        )
        if delivered.status == states.SENT and self._on_sent is not None:
            await self._on_sent(message)

    async def _charged_again(self, message: Message) -> bool:
        """The re-send after an ambiguous attempt reaches the provider again, so it is charged
        again; refused (budget spent, storage down), it is not sent and ends `ambiguous`."""
        if self._charge_resend is None:
            return True
        try:
            await self._charge_resend(message)
        except OTPServiceError as refusal:
            detail = f"not sent again: {refusal.message}"
            await self._messages.finish_attempt(
                message.id,
                to_datetime(self._clock.now()),
                Outcome(status=states.AMBIGUOUS, error_code=refusal.code, error_message=detail, detail=detail),
            )
            log.warning("ambiguous sms not re-sent", extra={"message_id": message.id, "code": refusal.code})
            return False
        return True
