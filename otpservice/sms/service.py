"""SmsService: validate, limit, check the balance, send through the provider, record."""

import logging
import uuid
from dataclasses import dataclass

from otpservice.clock import Clock, to_datetime
from otpservice.db.messages import MessageStore
from otpservice.db.models import Message
from otpservice.errors import InvalidPhoneNumber, InvalidRequest, ProviderError, SenderNotAllowed
from otpservice.limits.delay import ExponentialDelay
from otpservice.observability import metrics
from otpservice.providers.base import OutgoingSms, SmsProvider
from otpservice.sms.balance import BalanceGuard
from otpservice.sms.phone import is_valid_e164, is_valid_sender, mask_phone
from otpservice.sms.segments import count_segments

log = logging.getLogger("otpservice.sms")


@dataclass(frozen=True)
class SendResult:
    message_id: str
    sid: str
    status: str
    segments: int
    sent_at: float


class SmsService:
    def __init__(self, provider: SmsProvider, messages: MessageStore, delay: ExponentialDelay,
                 balance: BalanceGuard, clock: Clock, *, default_sender: str | None = None,
                 allowed_senders: list[str] | None = None, sender_optional: bool = False) -> None:
        self.provider = provider
        self._messages = messages
        self._delay = delay
        self._balance = balance
        self._clock = clock
        self._default_sender = default_sender
        self._allowed_senders = set(allowed_senders or [])
        self._sender_optional = sender_optional

    def resolve_sender(self, sender: str | None) -> str | None:
        sender = sender if sender is not None else self._default_sender
        if sender is None:
            if self._sender_optional:
                return None
            raise InvalidRequest("sender is required (or set SMS_DEFAULT_SENDER)")
        if not is_valid_sender(sender):
            raise InvalidRequest("sender must be an E.164 number or an alphanumeric id of 1-11 characters")
        if self._allowed_senders and sender not in self._allowed_senders:
            raise SenderNotAllowed()
        return sender

    async def send(self, receiver: str, body: str, sender: str | None = None, *,
                   kind: str = "sms", verification_id: str | None = None) -> SendResult:
        if not is_valid_e164(receiver):
            raise InvalidPhoneNumber("receiver must be a valid E.164 phone number")
        sender = self.resolve_sender(sender)
        await self._balance.ensure_funded()
        await self._delay.acquire(receiver)
        return await self._deliver(OutgoingSms(receiver=receiver, body=body, sender=sender),
                                   kind=kind, verification_id=verification_id)

    async def _deliver(self, sms: OutgoingSms, *, kind: str, verification_id: str | None) -> SendResult:
        message_id = "MS" + uuid.uuid4().hex
        started = self._clock.now()
        record = Message(
            id=message_id, provider=self.provider.name, kind=kind, receiver=sms.receiver,
            sender=sms.sender, segments=count_segments(sms.body), attempts=1,
            verification_id=verification_id, created_at=to_datetime(started),
            updated_at=to_datetime(started),
        )
        try:
            receipt = await self.provider.send(sms)
        except ProviderError as exc:
            record.status, record.error_code, record.error_message = "failed", exc.code, exc.message
            await self._messages.add(record)
            metrics.message_outcome(self.provider.name, "failed")
            log.warning("send failed", extra={"provider": self.provider.name, "to": mask_phone(sms.receiver),
                                              "code": exc.code, "message_id": message_id})
            raise
        record.status, record.provider_sid = "sent", receipt.sid
        record.provider_status = receipt.provider_status
        if receipt.segments:
            record.segments = receipt.segments
        await self._messages.add(record)
        metrics.message_outcome(self.provider.name, "sent")
        log.info("sms sent", extra={"provider": self.provider.name, "to": mask_phone(sms.receiver),
                                    "message_id": message_id, "sid": receipt.sid})
        return SendResult(message_id=message_id, sid=receipt.sid, status="sent",
                          segments=record.segments, sent_at=started)
