"""SMS_RATE_LIMIT: messages per second handed to the provider.

Counted in the limit storage (Redis for replicas), so that the rate holds across processes.
"""

import asyncio
import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter

from otpservice.limits.budget_store import StorageUnavailable, bounded

log = logging.getLogger("otpservice.delivery")


class ProviderThrottle:
    def __init__(self, storage: Storage, per_second: float, name: str = "provider-rate") -> None:
        # A fractional rate (0.5/s) becomes 1 message per 2 s.
        window = 1 if per_second >= 1 else math.ceil(1 / per_second)
        self._item = RateLimitItemPerSecond(max(1, math.floor(per_second * window)), window)
        self._limiter = FixedWindowRateLimiter(storage)
        self._name = name

    async def try_acquire(self) -> bool:
        """False when no slot is free, or when the storage cannot say (the message waits)."""
        try:
            return await bounded(self._limiter.hit(self._item, self._name))
        except StorageUnavailable:
            log.warning("provider throttle: limit storage unavailable, message left queued")
            return False

    async def acquire(self, deadline_seconds: float = 30.0, stop: asyncio.Event | None = None) -> bool:
        """Wait for a slot (the worker's path); False if none came before the deadline or `stop`."""
        give_up = time.monotonic() + deadline_seconds
        while not await self.try_acquire():
            if stop is not None and stop.is_set():
                return False
            try:
                stats = await bounded(self._limiter.get_window_stats(self._item, self._name))
                wait = max(0.01, min(stats.reset_time - time.time(), 1.0))
            except StorageUnavailable:
                wait = 1.0
            if time.monotonic() + wait > give_up:
                return False
            if stop is None:
                await asyncio.sleep(wait)
                continue
            try:
                await asyncio.wait_for(stop.wait(), wait)
                return False
            except TimeoutError:
                pass
        return True
