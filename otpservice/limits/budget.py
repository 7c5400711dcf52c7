"""The send budget: every send reserves, in one atomic step, all that limits it.

A send to a number takes the global window, the number's hour and day caps (verification
sends and plain sends counted apart), the client's per-minute cap (verification starts),
the spend budgets and the number's exponential delay, or nothing at all. A send refused
afterwards without reaching the provider gives back what it took (`release`).
Windows are aligned to the epoch, so an hour or a day is a UTC hour or day.
"""

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

from otpservice.clock import Clock
from otpservice.errors import (
    BudgetExhausted,
    IpRateLimited,
    LimitsUnavailable,
    NumberCapReached,
    NumberDelayed,
    RateLimited,
    TooManyRequests,
)
from otpservice.limits.budget_store import BudgetStore, Counter, DelayState, Refused, StorageUnavailable, Taken
from otpservice.limits.delay import DelayPolicy

log = logging.getLogger("otpservice.limits")

HOUR, DAY, MINUTE = 3600.0, 86400.0, 60.0
SendKind = Literal["sms", "otp"]


@dataclass(frozen=True)
class BudgetRules:
    global_limit: int
    global_window: float
    delay: DelayPolicy
    otp_per_number_hour: int = 10
    otp_per_number_day: int = 50
    sms_per_number_hour: int = 0  # 0: no cap
    sms_per_number_day: int = 0
    per_client_minute: int = 60
    spend_hour: int = 0  # SPEC 17; 0: no budget
    spend_day: int = 0
    spend_country_day: int = 0
    spend_countries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Limit:
    """One counter of a reservation, with what it says when it is full."""

    counter: Counter
    error: type[TooManyRequests]
    window: float
    fields: dict[str, str] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True)
class Reservation:
    limits: tuple[Limit, ...]
    delay: DelayState | None
    taken: Taken
    now: float

    def used(self, limit: Limit) -> int:
        return self.taken.counts[self.limits.index(limit)]

    def rate_headers(self) -> dict[str, str]:
        """X-RateLimit-* of the global window (empty when the reservation had none)."""
        for limit in self.limits:
            if limit.error is RateLimited:
                return _rate_headers(limit, self.used(limit), self.now)
        return {}


class SendBudget:
    def __init__(self, store: BudgetStore, rules: BudgetRules, clock: Clock, prefix: str = "otpservice") -> None:
        self._store, self._rules, self._clock = store, rules, clock
        self._prefix = f"{prefix}:budget:"

    @property
    def rules(self) -> BudgetRules:
        return self._rules

    async def reserve(self, number: str, *, kind: SendKind, country: str | None, client: str | None = None,
                      delay: bool = True, spend: bool = True) -> Reservation:
        """Take one send to `number` (E.164) or raise the refusal; nothing is taken on refusal.
        `delay=False`/`spend=False`: a test number, which gets no SMS."""
        now = self._clock.now()
        rules = self._rules
        limits = [self._limit("global", "*", rules.global_limit, rules.global_window, RateLimited, now)]
        if client is not None:
            limits.append(self._limit("client", client, rules.per_client_minute, MINUTE, IpRateLimited, now))
        hour, day = ((rules.otp_per_number_hour, rules.otp_per_number_day) if kind == "otp"
                     else (rules.sms_per_number_hour, rules.sms_per_number_day))
        for name, amount, window in ((f"{kind}-hour", hour, HOUR), (f"{kind}-day", day, DAY)):
            if amount > 0:
                limits.append(self._limit(name, number, amount, window, NumberCapReached, now))
        if spend:
            limits += self._spend_limits(country, now)
        delay_state = DelayState(f"{self._prefix}delay:{number}", rules.delay) if delay else None
        outcome = await self._call(self._store.reserve([limit.counter for limit in limits], delay_state, now))
        if isinstance(outcome, Refused):
            raise self._refusal(outcome, limits, now)
        return Reservation(tuple(limits), delay_state, outcome, now)

    async def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose send never reached the provider."""
        try:
            await self._call(self._store.release([limit.counter for limit in reservation.limits],
                                                 reservation.delay, reservation.taken))
        except LimitsUnavailable:
            log.warning("send budget not given back: limit storage unavailable")

    async def count_client(self, client: str) -> None:
        """One verification check from `client` against its per-minute cap."""
        now = self._clock.now()
        limit = self._limit("client", client, self._rules.per_client_minute, MINUTE, IpRateLimited, now)
        outcome = await self._call(self._store.reserve([limit.counter], None, now))
        if isinstance(outcome, Refused):
            raise self._refusal(outcome, [limit], now)

    async def ping(self) -> bool:
        try:
            return await self._store.ping()
        except StorageUnavailable:
            return False

    def _spend_limits(self, country: str | None, now: float) -> list[Limit]:
        rules, limits = self._rules, []
        for name, amount, window in (("spend-hour", rules.spend_hour, HOUR), ("spend-day", rules.spend_day, DAY)):
            if amount > 0:
                limits.append(self._limit(name, "*", amount, window, BudgetExhausted, now,
                                          {"scope": "global", "key": "*"}))
        per_country = rules.spend_countries.get(country or "", rules.spend_country_day)
        if country and per_country > 0:
            limits.append(self._limit("spend-country-day", country, per_country, DAY, BudgetExhausted, now,
                                      {"scope": "country", "key": country}))
        return limits

    def _limit(self, name: str, key: str, amount: int, window: float, error: type[TooManyRequests],
               now: float, fields: dict[str, str] | None = None) -> Limit:
        index = math.floor(now / window)
        counter = Counter(f"{self._prefix}{name}:{key}:{index}", amount, (index + 1) * window)
        return Limit(counter, error, window, fields or {}, name)

    def _refusal(self, refused: Refused, limits: list[Limit], now: float) -> TooManyRequests:
        if refused.counter is None:
            return NumberDelayed(retry_after=refused.retry_after)
        limit = limits[refused.counter]
        headers = _rate_headers(limit, limit.counter.limit, now) if limit.error is RateLimited else None
        return limit.error(retry_after=max(refused.retry_after, 0.001), headers=headers, fields=limit.fields)

    async def _call(self, awaitable):  # type: ignore[no-untyped-def]
        try:
            return await awaitable
        except StorageUnavailable:
            raise LimitsUnavailable() from None


def _rate_headers(limit: Limit, used: int, now: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit.counter.limit),
        "X-RateLimit-Remaining": str(max(0, limit.counter.limit - used)),
        "X-RateLimit-Reset": str(max(0, math.ceil(limit.counter.window_end - now))),
    }
