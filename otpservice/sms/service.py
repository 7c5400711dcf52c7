"""SmsService: validate a send, reserve it in the send budget, then dispatch (send now, or
queue in the outbox) and record.

Plain sends reserve here; a verification reserves its own send (it adds the client's cap)
and hands the reservation to `deliver`. A send refused before the provider gives back what
it reserved; a send the provider was asked to take stays counted.
"""

from collections.abc import Iterable
from dataclasses import replace

from otpservice.core.phone import canonical_e164, canonical_sender, country_of
from otpservice.db.models import Verification
from otpservice.db.opt_outs import OptOutStore
from otpservice.delivery.dispatch import Dispatcher, SendResult
from otpservice.errors import (
    CountryNotAllowed,
    InvalidPhoneNumber,
    InvalidRequest,
    ProviderError,
    RecipientOptedOut,
    SenderNotAllowed,
)
from otpservice.limits.budget import Reservation, SendBudget
from otpservice.providers.base import OutgoingSms, SmsProvider
from otpservice.sms.balance import BalanceGuard

__all__ = ["SendResult", "SmsService"]


class SmsService:
    def __init__(
        self,
        dispatcher: Dispatcher,
        budget: SendBudget,
        balance: BalanceGuard,
        *,
        default_sender: str | None = None,
        allowed_senders: Iterable[str] = (),
        allowed_countries: Iterable[str] = (),
        sender_optional: bool = False,
        opt_outs: OptOutStore | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._budget = budget
        self._balance = balance
        self._default_sender = default_sender
        self._allowed_senders = {canonical_sender(sender) or sender for sender in allowed_senders}
        self._allowed_countries = frozenset(code.upper() for code in allowed_countries)
        self._sender_optional = sender_optional
        self._opt_outs = opt_outs

    @property
    def provider(self) -> SmsProvider:
        return self._dispatcher.primary

    def serves(self, channel: str) -> bool:
        """Whether a code can go on `channel` (sms, whatsapp, call, email) as configured."""
        return self._dispatcher.serves(channel)

    @property
    def budget(self) -> SendBudget:
        return self._budget

    def resolve_sender(self, sender: str | None, field: str = "sender") -> str | None:
        """`field`: the name the caller gave the sender (errors name what the caller sent)."""
        sender = sender if sender is not None else self._default_sender
        if sender is None:
            if self._sender_optional:
                return None
            raise InvalidRequest(f"{field} is required (or set SMS_DEFAULT_SENDER)")
        canonical = canonical_sender(sender)
        if canonical is None:
            raise InvalidRequest(f"{field} must be an E.164 number or an alphanumeric id of 1-11 characters")
        if self._allowed_senders and canonical not in self._allowed_senders:
            raise SenderNotAllowed()
        return canonical

    async def prepare(
        self, sender: str | None = None, sender_field: str = "sender", *, sender_needed: bool = True
    ) -> str | None:
        """What must hold before anything is reserved: a sender, and a balance when checked.
        `sender_needed` False: a WhatsApp message or a call, whose number is the provider's own."""
        needed = sender_needed or sender is not None or self._default_sender is not None
        resolved = self.resolve_sender(sender, sender_field) if needed else None
        await self._balance.ensure_funded()
        return resolved

    async def send(
        self, receiver: str, body: str, sender: str | None = None, *, fields: tuple[str, str] = ("receiver", "sender")
    ) -> SendResult:
        """A plain send (POST /send and its compatible routes). `fields`: the names the caller gave
        the receiver and the sender, which errors use."""
        number = canonical_e164(receiver)
        if number is None:
            raise InvalidPhoneNumber(f"{fields[0]} must be a valid E.164 phone number (+ and 2 to 15 digits)")
        country = country_of(number)
        if self._allowed_countries and country not in self._allowed_countries:
            raise CountryNotAllowed()
        # A number that replied STOP gets no plain message (a code it asks for still goes: deliver).
        if self._opt_outs is not None and await self._opt_outs.contains(number):
            raise RecipientOptedOut()
        resolved = await self.prepare(sender, fields[1])
        reservation = await self._budget.reserve(number, kind="sms", country=country)
        result = await self.deliver(number, body, resolved, reservation=reservation, kind="sms")
        return replace(result, rate_window=reservation.rate_window())

    async def deliver(
        self,
        receiver: str,
        body: str,
        sender: str | None,
        *,
        reservation: Reservation,
        kind: str,
        verification_id: str | None = None,
        message_id: str | None = None,
        new_verification: Verification | None = None,
        channel: str = "sms",
        language: str | None = None,
    ) -> SendResult:
        """Dispatch a send already reserved; a refusal before the provider gives the reservation back."""
        try:
            return await self._dispatcher.dispatch(
                OutgoingSms(receiver=receiver, body=body, sender=sender, channel=channel, language=language),
                kind=kind,
                verification_id=verification_id,
                message_id=message_id,
                new_verification=new_verification,
            )
        except ProviderError:
            raise  # the provider was asked: the send counts
        except BaseException:
            await self._budget.release(reservation)
            raise
