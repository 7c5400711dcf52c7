"""Wrong admin keys, counted per client address in the limit storage (shared by replicas).

Both doors an admin key opens count together: the console's login form and the admin API's
Bearer header. After MAX_FAILURES wrong keys from one address within the window, both refuse
that address until the window ends, whatever key it sends: guessing an admin key costs a
window per ten tries. A correct key counts nothing. When the limit storage does not answer,
keys are still judged on their own (an operator must reach the console in an outage), and
the storage's silence is logged.
"""

import logging
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter

from otpservice.limits.budget_store import StorageUnavailable, bounded

MAX_FAILURES = 10
WINDOW_MINUTES = 15
NAMESPACE = "admin-key-failures"

log = logging.getLogger("otpservice.admin")
UNAVAILABLE = "admin keys: limit storage unavailable, wrong keys not counted"


class AdminLockout:
    def __init__(self, storage: Storage) -> None:
        self._limiter = FixedWindowRateLimiter(storage)
        self._item = RateLimitItemPerMinute(MAX_FAILURES, WINDOW_MINUTES)

    async def refused_for(self, address: str) -> float | None:
        """Seconds until `address` may try again, or None when it may try now."""
        try:
            if await bounded(self._limiter.test(self._item, NAMESPACE, address)):
                return None
            stats = await bounded(self._limiter.get_window_stats(self._item, NAMESPACE, address))
        except StorageUnavailable:
            log.warning(UNAVAILABLE)
            return None
        return max(1.0, stats.reset_time - time.time())

    async def failed(self, address: str) -> None:
        try:
            await bounded(self._limiter.hit(self._item, NAMESPACE, address))
        except StorageUnavailable:
            log.warning(UNAVAILABLE)
