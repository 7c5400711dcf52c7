"""Fixed-window limits (the `limits` library): the global limit and the caps."""

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter

from otpservice.errors import TooManyRequests


class WindowLimit:
    """`amount` hits per `window_seconds`, refused with `error` (a 429 class)."""

    def __init__(self, storage: Storage, name: str, amount: int, window_seconds: float,
                 error: type[TooManyRequests]) -> None:
        # The storage expires keys in whole seconds: a sub-second window becomes 1 s.
        self._item = RateLimitItemPerSecond(amount, max(1, math.ceil(window_seconds)))
        self._limiter = FixedWindowRateLimiter(storage)
        self._name = name
        self._error = error

    @property
    def amount(self) -> int:
        return self._item.amount

    async def hit(self, key: str = "all", *, headers: bool = False) -> dict[str, str]:
        """Count one hit; raise `error` when over. Returns X-RateLimit-* headers if asked."""
        allowed = await self._limiter.hit(self._item, self._name, key)
        if allowed and not headers:
            return {}
        stats = await self._limiter.get_window_stats(self._item, self._name, key)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        info = {
            "X-RateLimit-Limit": str(self._item.amount),
            "X-RateLimit-Remaining": str(stats.remaining),
            "X-RateLimit-Reset": str(reset),
        }
        if not allowed:
            raise self._error(retry_after=max(1, reset), headers=info)
        return info

    async def remaining(self, key: str = "all") -> int:
        stats = await self._limiter.get_window_stats(self._item, self._name, key)
        return stats.remaining
