"""Refuse sends when the provider's balance is empty (`*_EMPTY_BALANCE_CHECK`)."""

import logging
from decimal import Decimal

from otpservice.clock import Clock
from otpservice.errors import InsufficientBalance, ProviderError
from otpservice.providers.base import SmsProvider

log = logging.getLogger("otpservice.sms.balance")


class BalanceGuard:
    def __init__(self, provider: SmsProvider, enabled: bool, cache_seconds: float, clock: Clock) -> None:
        self._provider = provider
        self.enabled = enabled
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[float, Decimal | None] | None = None

    async def ensure_funded(self) -> None:
        if not self.enabled:
            return
        balance = await self._balance()
        if balance is not None and balance <= 0:
            raise InsufficientBalance(f"{self._provider.name} balance is empty: sending refused")

    async def _balance(self) -> Decimal | None:
        now = self._clock.now()
        if self._cached and now - self._cached[0] < self._cache_seconds:
            return self._cached[1]
        try:
            balance = await self._provider.balance()
        except ProviderError as exc:
            # An unreadable balance must not stop sending: the send reports its own errors.
            log.warning("balance check failed: %s", exc.message, extra={"provider": self._provider.name})
            return None
        self._cached = (now, balance)
        return balance
