"""Abuse caps of SPEC section 4: sends per number (hour, day) and requests per client IP.

They live on the same window storage as the global limit, so that Redis makes them hold
across replicas. A number's caps count send attempts, whether or not the provider took
them; a send refused before the provider (delay, balance) does not count.
"""

from limits.aio.storage import Storage

from otpservice.errors import IpRateLimited, NumberCapReached
from otpservice.limits.window import WindowLimit

HOUR, DAY, MINUTE = 3600, 86400, 60


class VerificationCaps:
    def __init__(self, storage: Storage, *, sends_per_number_hour: int, sends_per_number_day: int,
                 requests_per_ip_minute: int) -> None:
        self._number_limits = [
            WindowLimit(storage, "otp-number-hour", sends_per_number_hour, HOUR, NumberCapReached),
            WindowLimit(storage, "otp-number-day", sends_per_number_day, DAY, NumberCapReached),
        ]
        self._ip_limit = WindowLimit(storage, "otp-ip", requests_per_ip_minute, MINUTE, IpRateLimited)

    async def count_request(self, client_ip: str) -> None:
        """One start or check from `client_ip`; raises IpRateLimited when over."""
        await self._ip_limit.hit(client_ip)

    async def ensure_room_for_send(self, number: str) -> None:
        """Raise NumberCapReached (Retry-After: the window's end) when a cap is used up."""
        for limit in self._number_limits:
            if await limit.remaining(number) <= 0:
                # A hit on a full window raises with the window's Retry-After; should the
                # window have just rolled over, that hit counts this send a little early.
                await limit.hit(number)

    async def count_send(self, number: str) -> None:
        for limit in self._number_limits:
            try:
                await limit.hit(number)
            except NumberCapReached:
                pass  # a concurrent send filled the window meanwhile; this one is already out
