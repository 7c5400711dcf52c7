"""Wrong admin keys, counted per client address in the limit storage (shared by replicas).

Both doors an admin key opens count together: the console's login form and the admin API's
Bearer header. After MAX_FAILURES wrong keys from one address within the window, both refuse
that address until the window ends, whatever key it sends: guessing an admin key costs a
window per ten tries. A wrong key is counted before it is judged, in one atomic increment:
of 200 wrong keys sent at once, the first ten are answered "wrong" and the rest "locked out"
(counting after judging let every one of them be judged). A correct key counts nothing.
When the limit storage does not answer, no key is judged (LimitsUnavailable, 503): a wrong
key that cannot be counted must not be tried.
"""

import logging
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter

from otpservice.errors import LimitsUnavailable
from otpservice.limits.budget_store import StorageUnavailable, bounded

MAX_FAILURES = 10
WINDOW_MINUTES = 15
NAMESPACE = "admin-key-failures"

log = logging.getLogger("otpservice.admin")


class AdminLockout:
    def __init__(self, storage: Storage) -> None:
        self._limiter = FixedWindowRateLimiter(storage)
        self._item = RateLimitItemPerMinute(MAX_FAILURES, WINDOW_MINUTES)

    async def refused_for(self, address: str, *, correct: bool) -> float | None:
        """Seconds until `address` may try again, or None when this attempt is judged on its
        key. A wrong key is counted here first (its own slot among the window's ten, or none
        left); a correct one only reads the count. Raises LimitsUnavailable when the storage
        does not answer."""
        try:
            if correct:
                if await bounded(self._limiter.test(self._item, NAMESPACE, address)):
                    return None
            elif await bounded(self._limiter.hit(self._item, NAMESPACE, address)):
                return None
            stats = await bounded(self._limiter.get_window_stats(self._item, NAMESPACE, address))
        except StorageUnavailable:
            log.warning("admin keys: limit storage unavailable, no key judged")
            raise LimitsUnavailable("Admin key attempts cannot be counted now, retry later") from None
        return max(1.0, stats.reset_time - time.time())
