"""SmsService: validate, apply the per-number delay and balance check, then dispatch
(send now, or queue in the outbox) and record."""

from otpservice.delivery.dispatch import Dispatcher, SendResult
from otpservice.errors import InvalidPhoneNumber, InvalidRequest, SenderNotAllowed
from otpservice.limits.delay import ExponentialDelay
from otpservice.providers.base import OutgoingSms, SmsProvider
from otpservice.sms.balance import BalanceGuard
from otpservice.core.phone import is_valid_e164, is_valid_sender

__all__ = ["SendResult", "SmsService"]


class SmsService:
    def __init__(self, dispatcher: Dispatcher, delay: ExponentialDelay, balance: BalanceGuard, *,
                 default_sender: str | None = None, allowed_senders: list[str] | None = None,
                 sender_optional: bool = False) -> None:
        self._dispatcher = dispatcher
        self._delay = delay
        self._balance = balance
        self._default_sender = default_sender
        self._allowed_senders = set(allowed_senders or [])
        self._sender_optional = sender_optional

    @property
    def provider(self) -> SmsProvider:
        return self._dispatcher.primary

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

    async def take_delay(self, receiver: str) -> None:
        """Count a send to `receiver` against its exponential delay now (raises NumberDelayed);
        the send that follows passes `delay_taken=True`."""
        await self._delay.acquire(receiver)

    async def send(self, receiver: str, body: str, sender: str | None = None, *,
                   kind: str = "sms", verification_id: str | None = None,
                   message_id: str | None = None, delay_taken: bool = False) -> SendResult:
        """`message_id`: our id for the message, when the caller records it beforehand."""
        if not is_valid_e164(receiver):
            raise InvalidPhoneNumber("receiver must be a valid E.164 phone number")
        sender = self.resolve_sender(sender)
        await self._balance.ensure_funded()
        if not delay_taken:
            await self._delay.acquire(receiver)
        return await self._dispatcher.dispatch(OutgoingSms(receiver=receiver, body=body, sender=sender),
                                               kind=kind, verification_id=verification_id,
                                               message_id=message_id)
