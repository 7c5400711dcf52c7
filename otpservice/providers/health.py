"""What the providers last said of our credentials, for `/-/ready` and the start-up check.

`ok`: the provider answered a call with success; `refused`: it refused our credentials
(HTTP 401/403, Twilio 20003, Vonage status 4); `unknown`: no answer yet, or only answers
that say nothing of the credentials (timeouts, 5xx, throttling, a rejected number).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from otpservice.clock import Clock
from otpservice.errors import OTPServiceError, ProviderCredentialsRefused
from otpservice.providers.base import OutgoingSms, SendReceipt, SmsProvider, channels_of

ProviderStatus = Literal["ok", "refused", "unknown"]


@dataclass(frozen=True)
class BalanceAnswer:
    """One balance call judged: the status, and the provider's words when it was not a success."""

    status: ProviderStatus
    detail: str = ""


class ProviderHealth:
    """The last word on the credentials of each provider of the chain."""

    def __init__(self, providers: list[SmsProvider], clock: Clock) -> None:
        self._providers = providers
        self._clock = clock
        self._status: dict[str, ProviderStatus] = {provider.name: "unknown" for provider in providers}
        self._asked_at: float | None = None

    def record(self, name: str, status: ProviderStatus) -> None:
        if status != "unknown":  # an answer that says nothing keeps what the last one said
            self._status[name] = status

    @property
    def status(self) -> ProviderStatus:
        """refused when any provider refuses us; ok when every one accepted us; else unknown."""
        statuses = set(self._status.values())
        if "refused" in statuses:
            return "refused"
        return "ok" if statuses <= {"ok"} else "unknown"

    def due(self, every_seconds: float) -> bool:
        """Whether a balance call may be made now to learn more (at most once per `every_seconds`)."""
        if self.status == "ok":
            return False
        return self._asked_at is None or self._clock.now() - self._asked_at >= every_seconds

    async def ask(self) -> None:
        """One balance call to each provider not known to accept us."""
        self._asked_at = self._clock.now()
        for provider in self._providers:
            if self._status[provider.name] != "ok":
                self.record(provider.name, (await ask_balance(provider)).status)


async def ask_balance(provider: SmsProvider) -> BalanceAnswer:
    """One balance call, judged: only a credentials refusal is `refused`; an error of any other
    kind (unreachable, timeout, 5xx, an unknown path) is `unknown`."""
    if provider.name == "console":
        return BalanceAnswer("ok")
    try:
        await provider.balance()
    except ProviderCredentialsRefused as exc:
        return BalanceAnswer("refused", exc.message)
    except OTPServiceError as exc:
        return BalanceAnswer("unknown", exc.message)
    return BalanceAnswer("ok")


class WatchedProvider:
    """A provider whose answers to sends and balance calls feed ProviderHealth."""

    def __init__(self, inner: SmsProvider, health: ProviderHealth) -> None:
        self.inner = inner
        self.name = inner.name
        self.channels = channels_of(inner)
        self._health = health

    async def send(self, sms: OutgoingSms) -> SendReceipt:
        try:
            receipt = await self.inner.send(sms)
        except ProviderCredentialsRefused:
            self._health.record(self.name, "refused")
            raise
        self._health.record(self.name, "ok")
        return receipt

    async def balance(self) -> Decimal | None:
        try:
            balance = await self.inner.balance()
        except ProviderCredentialsRefused:
            self._health.record(self.name, "refused")
            raise
        self._health.record(self.name, "ok")
        return balance
