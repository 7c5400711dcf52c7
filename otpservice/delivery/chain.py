"""The primary provider, then SMS_FALLBACK_PROVIDER after a retryable failure."""

import logging
from dataclasses import dataclass, replace

from otpservice.errors import ProviderError
from otpservice.providers.base import OutgoingSms, SendReceipt, SmsProvider

log = logging.getLogger("otpservice.delivery")


@dataclass(frozen=True)
class ChainReceipt:
    provider: str
    receipt: SendReceipt


class ProviderChain:
    def __init__(self, providers: list[SmsProvider], callbacks: dict[str, str] | None = None) -> None:
        """`callbacks`: status callback URL by provider name (when PUBLIC_BASE_URL is set)."""
        self.providers = providers
        self._callbacks = callbacks or {}

    @property
    def primary(self) -> SmsProvider:
        return self.providers[0]

    async def send(self, sms: OutgoingSms) -> ChainReceipt:
        """Raises the last provider's error when none accepted the message."""
        last_error: ProviderError | None = None
        for provider in self.providers:
            try:
                callback = self._callbacks.get(provider.name)
                receipt = await provider.send(replace(sms, status_callback=callback) if callback else sms)
                return ChainReceipt(provider.name, receipt)
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                last_error = exc
                log.warning("provider failed, trying the next one" if provider is not self.providers[-1]
                            else "provider failed", extra={"provider": provider.name, "code": exc.code})
        assert last_error is not None
        raise last_error
