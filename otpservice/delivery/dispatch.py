"""Hand a message to the provider now, or park it in the outbox (202) to be sent later.

With SMS_QUEUE_ENABLED, a message goes to the outbox when the provider rate
(SMS_RATE_LIMIT) is used up, or when every provider failed with a retryable error.
"""

import logging
import uuid
from dataclasses import dataclass, field, replace

from otpservice.clock import Clock, to_datetime
from otpservice.db.messages import MessageStore
from otpservice.db.models import Message
from otpservice.delivery.chain import ProviderChain
from otpservice.delivery.crypto import BodyCipher
from otpservice.delivery.throttle import ProviderThrottle
from otpservice.errors import ProviderError
from otpservice.observability import metrics
from otpservice.providers.base import OutgoingSms, SmsProvider
from otpservice.core.phone import mask_phone
from otpservice.sms.segments import count_segments

log = logging.getLogger("otpservice.delivery")


@dataclass(frozen=True)
class SendResult:
    message_id: str
    sid: str
    status: str  # "sent" or "queued"
    segments: int
    sent_at: float
    rate_headers: dict[str, str] = field(default_factory=dict)  # the global window's X-RateLimit-*


def new_message_id() -> str:
    return "MS" + uuid.uuid4().hex


class Dispatcher:
    def __init__(self, chain: ProviderChain, messages: MessageStore, clock: Clock, *,
                 queue_enabled: bool, throttle: ProviderThrottle | None, cipher: BodyCipher,
                 retry_delay: float = 2.0, lease_seconds: float = 60.0) -> None:
        self._chain, self._messages, self._clock = chain, messages, clock
        self._queue_enabled, self._throttle, self._cipher = queue_enabled, throttle, cipher
        self._retry_delay, self._lease_seconds = retry_delay, lease_seconds

    @property
    def primary(self) -> SmsProvider:
        return self._chain.primary

    async def dispatch(self, sms: OutgoingSms, *, kind: str, verification_id: str | None,
                       message_id: str | None = None) -> SendResult:
        now = self._clock.now()
        message_id = message_id or new_message_id()
        sms = replace(sms, client_ref=message_id)
        record = Message(id=message_id, provider=self._chain.primary.name, kind=kind,
                         receiver=sms.receiver, sender=sms.sender, segments=count_segments(sms.body),
                         attempts=1, verification_id=verification_id, created_at=to_datetime(now),
                         updated_at=to_datetime(now), body_ciphertext=self._cipher.encrypt(sms.body, message_id))
        if self._queue_enabled and self._throttle and not await self._throttle.try_acquire():
            record.status, record.attempts, record.next_attempt_at = "queued", 0, to_datetime(now)
            await self._messages.add(record)
            return self._queued(record, sms, now)
        # Recorded before the call, as a claimed outbox message: a crash during the call leaves
        # a row, which (queue on) a worker sends again once the lease ends. Only a message whose
        # call was in flight may so go twice.
        record.status, record.next_attempt_at = "sending", to_datetime(now + self._lease_seconds)
        await self._messages.add(record)
        try:
            sent = await self._chain.send(sms)
        except ProviderError as exc:
            finished = to_datetime(self._clock.now())
            if self._queue_enabled and exc.retryable:
                await self._messages.finish_attempt(
                    record.id, finished, status="queued", error_code=exc.code, error_message=exc.message,
                    next_attempt_at=to_datetime(now + self._retry_delay))
                record.error_code = exc.code
                return self._queued(record, sms, now)
            await self._messages.finish_attempt(record.id, finished, status="failed", error_code=exc.code,
                                                error_message=exc.message)
            metrics.message_outcome(record.provider, "failed")
            log.warning("send failed", extra={"provider": record.provider, "to": mask_phone(sms.receiver),
                                              "code": exc.code, "message_id": record.id})
            raise
        segments = sent.receipt.segments or record.segments
        await self._messages.finish_attempt(
            record.id, to_datetime(self._clock.now()), status="sent", provider=sent.provider,
            provider_sid=sent.receipt.sid, provider_status=sent.receipt.provider_status, segments=segments)
        metrics.message_outcome(sent.provider, "sent")
        log.info("sms sent", extra={"provider": sent.provider, "to": mask_phone(sms.receiver),
                                    "message_id": record.id, "sid": sent.receipt.sid})
        return SendResult(record.id, sent.receipt.sid, "sent", segments, now)

    def _queued(self, record: Message, sms: OutgoingSms, now: float) -> SendResult:
        metrics.message_outcome(record.provider, "queued")
        log.info("sms queued", extra={"provider": record.provider, "to": mask_phone(sms.receiver),
                                      "message_id": record.id, "code": record.error_code})
        return SendResult(record.id, record.id, "queued", record.segments, now)
