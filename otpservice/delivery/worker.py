"""Drains the outbox: claims due messages, sends them at the provider rate, retries with
exponential backoff and jitter, and gives up after a bounded number of attempts."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from otpservice.clock import Clock, to_datetime
from otpservice.db.messages import MessageStore
from otpservice.db.models import Message
from otpservice.delivery.chain import ProviderChain
from otpservice.delivery.crypto import BodyCipher
from otpservice.delivery.throttle import ProviderThrottle
from otpservice.errors import ProviderError, ProviderUnavailable
from otpservice.observability import metrics
from otpservice.providers.base import OutgoingSms

log = logging.getLogger("otpservice.delivery")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    lease_seconds: float = 60.0  # longer than any provider call: then a crashed claim is retried

    def backoff(self, attempts: int) -> float:
        """Full jitter: uniform in [base/2, base * 2^(attempts-1)], capped."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return random.uniform(min(self.base_seconds / 2, ceiling), ceiling)


class OutboxWorker:
    def __init__(self, messages: MessageStore, chain: ProviderChain, cipher: BodyCipher,
                 throttle: ProviderThrottle | None, clock: Clock, policy: RetryPolicy,
                 batch_size: int = 50, on_sent: Callable[[Message], Awaitable[None]] | None = None) -> None:
        self._on_sent = on_sent  # e.g. the breaker, which counts a verification's first SMS once sent
        self._messages, self._chain, self._cipher = messages, chain, cipher
        self._throttle, self._clock, self._policy = throttle, clock, policy
        self._batch_size = batch_size

    async def run(self, stop: asyncio.Event, idle_seconds: float = 0.5) -> None:
        while not stop.is_set():
            try:
                handled = await self.drain_once()
            except Exception:
                log.exception("outbox pass failed")
                handled = 0
            if handled == 0:
                try:
                    await asyncio.wait_for(stop.wait(), idle_seconds)
                except TimeoutError:
                    pass

    async def drain_once(self) -> int:
        """One pass over the due messages; returns how many were attempted."""
        now = to_datetime(self._clock.now())
        await self._messages.requeue_expired_leases(now)
        attempted = 0
        for message_id in await self._messages.due_ids(now, self._batch_size):
            if self._throttle and not await self._throttle.acquire():
                break
            now = to_datetime(self._clock.now())
            lease = to_datetime(self._clock.now() + self._policy.lease_seconds)
            message = await self._messages.claim(message_id, now, lease)
            if message is None:
                continue
            attempted += 1
            try:
                await self._attempt(message)
            except Exception as exc:  # never leave a claimed message to loop on its lease
                log.exception("outbox attempt crashed", extra={"message_id": message.id})
                await self._failed(message, ProviderUnavailable(f"attempt crashed: {type(exc).__name__}"))
        return attempted

    async def _attempt(self, message: Message) -> None:
        now = to_datetime(self._clock.now())
        if message.attempts > self._policy.max_attempts:  # e.g. a process died in each call
            await self._messages.finish_attempt(message.id, now, status="failed", error_code="max_attempts",
                                                error_message="gave up after repeated interrupted attempts")
            return
        body = self._cipher.decrypt(message.body_ciphertext or b"", message.id)
        if body is None:
            await self._messages.finish_attempt(message.id, now, status="failed", error_code="body_unreadable",
                                                error_message="the outbox body cannot be decrypted")
            return
        sms = OutgoingSms(receiver=message.receiver, body=body, sender=message.sender, client_ref=message.id)
        try:
            sent = await self._chain.send(sms)
        except ProviderError as exc:
            await self._failed(message, exc)
            return
        await self._messages.finish_attempt(
            message.id, to_datetime(self._clock.now()), status="sent", provider=sent.provider,
            provider_sid=sent.receipt.sid, provider_status=sent.receipt.provider_status,
            segments=sent.receipt.segments)
        metrics.message_outcome(sent.provider, "sent")
        if self._on_sent is not None:
            await self._on_sent(message)
        log.info("queued sms sent", extra={"provider": sent.provider, "message_id": message.id,
                                           "attempts": message.attempts})

    async def _failed(self, message: Message, exc: ProviderError) -> None:
        now = self._clock.now()
        if exc.retryable and message.attempts < self._policy.max_attempts:
            retry_at = now + max(self._policy.backoff(message.attempts), exc.retry_after or 0)
            await self._messages.finish_attempt(message.id, to_datetime(now), status="queued",
                                                error_code=exc.code, error_message=exc.message,
                                                next_attempt_at=to_datetime(retry_at))
            log.info("sms retry scheduled", extra={"message_id": message.id, "attempts": message.attempts,
                                                   "code": exc.code})
            return
        await self._messages.finish_attempt(message.id, to_datetime(now), status="failed",
                                            error_code=exc.code, error_message=exc.message)
        metrics.message_outcome(self._chain.primary.name, "failed")
        log.warning("queued sms failed", extra={"message_id": message.id, "attempts": message.attempts,
                                                "code": exc.code})
