"""One attempt at a message: the providers the retry policy allows, in order, handing over
to the next one after an error only when the policy says so (policy.hands_over_at_once)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from otpservice.delivery.scrubbing import without_body
from otpservice.errors import ProviderError, ProviderRejected
from otpservice.providers.base import OutgoingSms, SendReceipt, SmsProvider, channels_of

log = logging.getLogger("otpservice.delivery")


@dataclass(frozen=True)
class AttemptResult:
    provider: str  # the one that accepted, else the last one asked
    receipt: SendReceipt | None = None
    error: ProviderError | None = None  # the last provider's error
    refusal: ProviderError | None = None  # the first refusal for good
    refused_by: tuple[str, ...] = ()  # every provider that refused it for good, so far
    callback_url: str | None = None


class ProviderChain:
    def __init__(
        self, providers: list[SmsProvider], callbacks: dict[str, str] | None = None, email: SmsProvider | None = None
    ) -> None:
        """`callbacks`: status callback URL by provider name (when PUBLIC_BASE_URL is set).
        `email`: the email sender (SMTP), which takes every email and nothing else."""
        self.providers = providers
        self.email = email
        self._by_name = {provider.name: provider for provider in providers}
        if email is not None:
            self._by_name[email.name] = email
        self._callbacks = callbacks or {}

    @property
    def primary(self) -> SmsProvider:
        return self.providers[0]

    def serves(self, channel: str) -> bool:
        """Whether the primary provider (or an email sender) can take `channel`."""
        return channel in channels_of(self.first_for(channel))

    def first_for(self, channel: str) -> SmsProvider:
        """Who takes a message on `channel` first: the email sender for email, else the primary."""
        if channel == "email" and self.email is not None:
            return self.email
        return self.primary

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(provider.name for provider in self.providers)

    async def attempt(
        self,
        sms: OutgoingSms,
        candidates: list[str],
        refused_by: tuple[str, ...] = (),
        *,
        hands_over: Callable[[ProviderError], bool],
    ) -> AttemptResult:
        last: AttemptResult | None = None
        refusal: ProviderError | None = None
        if sms.channel == "email":
            candidates = [self.email.name] if self.email is not None else []
        for name in candidates:
            provider = self._by_name.get(name)
            if provider is None:  # a provider no longer configured: the primary takes over
                provider, name = self.primary, self.primary.name
            if sms.channel not in channels_of(provider):  # e.g. a failover provider without WhatsApp
                continue
            callback = self._callbacks.get(name)
            try:
                receipt = await provider.send(replace(sms, status_callback=callback) if callback else sms)
                return AttemptResult(name, receipt=receipt, refused_by=refused_by, callback_url=callback)
            except ProviderError as exc:
                # Provider free text may quote the message (hence a code): scrubbed before it
                # reaches a caller, a log line or a row.
                exc.message = without_body(exc.message, sms.body)
                exc.args = (exc.message,)
                if not exc.retryable:
                    refused_by = (*refused_by, name)
                    refusal = refusal or exc
                last = AttemptResult(name, error=exc, refusal=refusal, refused_by=refused_by)
                log.warning(
                    "provider failed",
                    extra={"provider": name, "code": exc.code, "sent": "unknown" if exc.may_have_sent else "no"},
                )
                if not hands_over(exc):
                    break
        if last is None:  # no provider left to ask (the configuration changed since it was queued)
            return AttemptResult(
                self.primary.name, error=ProviderRejected("no configured provider may take it"), refused_by=refused_by
            )
        return last
