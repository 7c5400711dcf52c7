"""Hand a message to the provider now, or park it in the outbox (202) to be sent later.

With SMS_QUEUE_ENABLED, a message goes to the outbox when the provider rate
(SMS_RATE_LIMIT) is used up, or when the retry policy says to try again later.
"""

import logging
import uuid
from dataclasses import dataclass, replace

from otpservice.clock import Clock, to_datetime
from otpservice.core.phone import mask_phone
from otpservice.core.rate_window import RateWindow
from otpservice.core.segments import count_segments
from otpservice.db.messages import MessageStore
from otpservice.db.models import Message, Verification
from otpservice.delivery import states
from otpservice.delivery.crypto import BodyCipher
from otpservice.delivery.deliverer import Deliverer
from otpservice.delivery.throttle import ProviderThrottle
from otpservice.observability import metrics
from otpservice.providers.base import OutgoingSms, SmsProvider

log = logging.getLogger("otpservice.delivery")


@dataclass(frozen=True)
class SendResult:
    message_id: str
    sid: str
    status: str  # "sent" or "queued"
    segments: int
    sent_at: float
    rate_window: RateWindow | None = None  # the global window after this send


def new_message_id() -> str:
    return "MS" + uuid.uuid4().hex


class Dispatcher:
    def __init__(
        self,
        deliverer: Deliverer,
        messages: MessageStore,
        clock: Clock,
        *,
        queue_enabled: bool,
        throttle: ProviderThrottle | None,
        cipher: BodyCipher,
    ) -> None:
        self._deliverer, self._messages, self._clock = deliverer, messages, clock
        self._queue_enabled, self._throttle, self._cipher = queue_enabled, throttle, cipher

    @property
    def primary(self) -> SmsProvider:
        return self._deliverer.chain.primary

    def serves(self, channel: str) -> bool:
        return self._deliverer.chain.serves(channel)

    async def dispatch(
        self,
        sms: OutgoingSms,
        *,
        kind: str,
        verification_id: str | None,
        message_id: str | None = None,
        new_verification: Verification | None = None,
    ) -> SendResult:
        """`new_verification`: inserted in the message row's transaction (PendingTaken if its
        number has a pending one already)."""
        now = self._clock.now()
        message_id = message_id or new_message_id()
        sms = replace(sms, client_ref=message_id)
        record = Message(
            id=message_id,
            provider=self._deliverer.chain.first_for(sms.channel).name,
            kind=kind,
            receiver=sms.receiver,
            sender=sms.sender,
            channel=sms.channel,
            language=sms.language,
            # A call, a WhatsApp message and an email count as one (spend budgets, console).
            segments=count_segments(sms.body) if sms.channel == "sms" else 1,
            attempts=1,
            ambiguous_count=0,
            verification_id=verification_id,
            created_at=to_datetime(now),
            updated_at=to_datetime(now),
            body_ciphertext=self._cipher.encrypt(sms.body, message_id),
        )
        if self._queue_enabled and self._throttle and not await self._throttle.try_acquire():
            record.status, record.attempts, record.next_attempt_at = states.QUEUED, 0, to_datetime(now)
            await self._messages.add(record, verification=new_verification)
            return self._queued(record, sms, now)
        # Recorded before the call, as a claimed outbox message: a crash during the call leaves
        # a row, which the lease recovery finds (queue on: sent again, queue off: failed).
        record.status = states.SENDING
        record.next_attempt_at = to_datetime(now + self._deliverer.policy.lease_seconds)
        await self._messages.add(record, verification=new_verification)
        delivered = await self._deliverer.attempt(record, sms)
        if delivered.status == states.QUEUED:
            record.error_code = delivered.error.code if delivered.error else None
            return self._queued(record, sms, now)
        if delivered.status == states.FAILED:
            assert delivered.error is not None
            log.warning(
                "send failed",
                extra={
                    "provider": delivered.provider,
                    "to": mask_phone(sms.receiver),
                    "code": delivered.error.code,
                    "message_id": record.id,
                },
            )
            raise delivered.error
        segments = delivered.segments or record.segments
        sid = delivered.sid or record.id  # a 2xx we could not read: sent, under our own id
        log.info(
            "sms sent",
            extra={"provider": delivered.provider, "to": mask_phone(sms.receiver), "message_id": record.id, "sid": sid},
        )
        return SendResult(record.id, sid, states.SENT, segments, now)

    def _queued(self, record: Message, sms: OutgoingSms, now: float) -> SendResult:
        metrics.message_outcome(record.provider, states.QUEUED)
        log.info(
            "sms queued",
            extra={
                "provider": record.provider,
                "to": mask_phone(sms.receiver),
                "message_id": record.id,
                "code": record.error_code,
            },
        )
        return SendResult(record.id, record.id, states.QUEUED, record.segments, now)
