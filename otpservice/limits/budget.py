"""The send budget: every send reserves, in one atomic step, all that limits it.

A send to a number takes the global window, the number's hour and day caps (verification
sends and plain sends counted apart), the client's per-minute cap (verification starts),
the spend budgets and the number's exponential delay, or nothing at all. A send refused
afterwards without reaching the provider gives back what it took (`release`).
Windows are aligned to the epoch, so an hour or a day is a UTC hour or day.
"""

import logging
import math
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from otpservice.clock import Clock
from otpservice.core.rate_window import RateWindow
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
T = TypeVar("T")


class BudgetWatcher(Protocol):
    """Told about spend budgets (SPEC 17): their use, and crossings, once per window each."""

    def threshold_of(self, limit: int) -> int: ...

    def used(self, scope: str, key: str, window: str, used: int, limit: int) -> None: ...

    def crossed(self, event: str, scope: str, key: str, window: str, used: int, limit: int) -> None: ...


HOUR, DAY, MINUTE = 3600.0, 86400.0, 60.0
MAX_ASKED = 1000
SendKind = Literal["sms", "otp", "email"]


@dataclass(frozen=True)
class BudgetRules:
    global_limit: int
    global_window: float
    delay: DelayPolicy
    otp_per_number_hour: int = 10
    otp_per_number_day: int = 50
    sms_per_number_hour: int = 0  # 0: no cap
    sms_per_number_day: int = 0
    email_per_address_hour: int = 5  # codes by email, per address (SPEC 24)
    email_per_address_day: int = 20
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
class BudgetUse:
    scope: str  # global | country
    key: str  # * or an ISO code
    window: str  # hour | day
    used: int
    limit: int


@dataclass(frozen=True)
class Reservation:
    limits: tuple[Limit, ...]
    delay: DelayState | None
    taken: Taken
    now: float

    def used(self, limit: Limit) -> int:
        return self.taken.counts[self.limits.index(limit)]

    def rate_window(self) -> RateWindow | None:
        """The global window after this reservation (None when the reservation had none)."""
        for limit in self.limits:
            if limit.error is RateLimited:
                return _rate_window(limit, self.used(limit), self.now)
        return None


class SendBudget:
    def __init__(
        self,
        store: BudgetStore,
        rules: BudgetRules,
        clock: Clock,
        prefix: str = "otpservice",
        watcher: BudgetWatcher | None = None,
    ) -> None:
        self._store, self._rules, self._clock, self._watcher = store, rules, clock, watcher
        # Crossings this process has already put to the storage (mark -> window end): every send
        # past a threshold would otherwise ask the storage again whether it was the first.
        self._asked: dict[str, float] = {}
        self._prefix = f"{prefix}:budget:"

    async def reserve(
        self,
        number: str,
        *,
        kind: SendKind,
        country: str | None,
        client: str | None = None,
        delay: bool = True,
        spend: bool = True,
    ) -> Reservation:
        """Take one send to `number` (E.164) or raise the refusal; nothing is taken on refusal.
        `delay=False`/`spend=False`: a test number, which gets no SMS."""
        now = self._clock.now()
        rules = self._rules
        limits = [self._limit("global", "*", rules.global_limit, rules.global_window, RateLimited, now)]
        if client is not None:
            limits.append(self._limit("client", client, rules.per_client_minute, MINUTE, IpRateLimited, now))
        hour, day = {
            "otp": (rules.otp_per_number_hour, rules.otp_per_number_day),
            "email": (rules.email_per_address_hour, rules.email_per_address_day),
        }.get(kind, (rules.sms_per_number_hour, rules.sms_per_number_day))
        for name, amount, window in ((f"{kind}-hour", hour, HOUR), (f"{kind}-day", day, DAY)):
            if amount > 0:
                limits.append(self._limit(name, number, amount, window, NumberCapReached, now))
        if spend:
            limits += self._spend_limits(country, now)
        delay_state = DelayState(f"{self._prefix}delay:{number}", rules.delay) if delay else None
        outcome = await self._call(self._store.reserve([limit.counter for limit in limits], delay_state, now))
        if isinstance(outcome, Refused):
            refusal = self._refusal(outcome, limits, now)
            if isinstance(refusal, BudgetExhausted) and outcome.counter is not None:
                limit = limits[outcome.counter]
                await self._report_once("budget_exhausted", limit, limit.counter.limit)
            raise refusal
        reservation = Reservation(tuple(limits), delay_state, outcome, now)
        if self._watcher is not None:
            await self._watch(reservation)
        return reservation

    async def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose send never reached the provider."""
        try:
            await self._call(
                self._store.release(
                    [limit.counter for limit in reservation.limits], reservation.delay, reservation.taken
                )
            )
        except LimitsUnavailable:
            log.warning("send budget not given back: limit storage unavailable")

    async def charge_again(self, country: str | None) -> None:
        """A re-send after an ambiguous attempt reaches the provider again: charged to the
        spend budgets again (SPEC 24), nothing else. Raises BudgetExhausted or LimitsUnavailable."""
        now = self._clock.now()
        limits = self._spend_limits(country, now)
        if not limits:
            return
        outcome = await self._call(self._store.reserve([limit.counter for limit in limits], None, now))
        if isinstance(outcome, Refused):
            raise self._refusal(outcome, limits, now)

    async def count_client(self, client: str) -> None:
        """One verification check from `client` against its per-minute cap."""
        now = self._clock.now()
        limit = self._limit("client", client, self._rules.per_client_minute, MINUTE, IpRateLimited, now)
        outcome = await self._call(self._store.reserve([limit.counter], None, now))
        if isinstance(outcome, Refused):
            raise self._refusal(outcome, [limit], now)

    async def _watch(self, reservation: Reservation) -> None:
        assert self._watcher is not None
        for limit in reservation.limits:
            if limit.error is not BudgetExhausted:
                continue
            used, amount = reservation.used(limit), limit.counter.limit
            self._watcher.used(limit.fields["scope"], limit.fields["key"], _window_name(limit), used, amount)
            if used >= self._watcher.threshold_of(amount):
                await self._report_once("budget_threshold", limit, used)

    async def _report_once(self, event: str, limit: Limit, used: int) -> None:
        """One alert per event, budget and window, across replicas; never fails the send."""
        mark = f"{limit.counter.key}:{event}"
        if self._watcher is None or mark in self._asked:
            return
        now = self._clock.now()
        try:
            first = await self._store.first_time(mark, now, limit.counter.window_end)
        except StorageUnavailable:
            return
        if len(self._asked) >= MAX_ASKED:
            self._asked = {key: end for key, end in self._asked.items() if end > now}
        self._asked[mark] = limit.counter.window_end
        if first:
            self._watcher.crossed(
                event, limit.fields["scope"], limit.fields["key"], _window_name(limit), used, limit.counter.limit
            )

    async def usage(self, countries: Iterable[str] = ()) -> list[BudgetUse]:
        """Each configured spend budget's use in its current window: the global ones, the
        countries of SMS_BUDGET_COUNTRIES and, with SMS_BUDGET_COUNTRY_DAY, `countries`."""
        now = self._clock.now()
        limits = self._global_spend(now)
        wanted = set(self._rules.spend_countries)
        if self._rules.spend_country_day > 0:
            wanted |= {country for country in countries if country}
        for country in sorted(wanted):
            limits += self._country_spend(country, now)
        used = await self._call(self._store.peek([limit.counter for limit in limits], now))
        return [
            BudgetUse(limit.fields["scope"], limit.fields["key"], _window_name(limit), count, limit.counter.limit)
            for limit, count in zip(limits, used, strict=True)
        ]

    def _spend_limits(self, country: str | None, now: float) -> list[Limit]:
        return [*self._global_spend(now), *self._country_spend(country, now)]

    def _global_spend(self, now: float) -> list[Limit]:
        rules = self._rules
        return [
            self._limit(name, "*", amount, window, BudgetExhausted, now, {"scope": "global", "key": "*"})
            for name, amount, window in (("spend-hour", rules.spend_hour, HOUR), ("spend-day", rules.spend_day, DAY))
            if amount > 0
        ]

    def _country_spend(self, country: str | None, now: float) -> list[Limit]:
        per_country = self._rules.spend_countries.get(country or "", self._rules.spend_country_day)
        if not country or per_country <= 0:
            return []
        return [
            self._limit(
                "spend-country-day",
                country,
                per_country,
                DAY,
                BudgetExhausted,
                now,
                {"scope": "country", "key": country},
            )
        ]

    def _limit(
        self,
        name: str,
        key: str,
        amount: int,
        window: float,
        error: type[TooManyRequests],
        now: float,
        fields: dict[str, str] | None = None,
    ) -> Limit:
        index = math.floor(now / window)
        counter = Counter(f"{self._prefix}{name}:{key}:{index}", amount, (index + 1) * window)
        return Limit(counter, error, window, fields or {}, name)

    def _refusal(self, refused: Refused, limits: list[Limit], now: float) -> TooManyRequests:
        if refused.counter is None:
            return NumberDelayed(retry_after=refused.retry_after)
        limit = limits[refused.counter]
        retry_after = max(refused.retry_after, 0.001)
        if limit.error is RateLimited:
            window = _rate_window(limit, limit.counter.limit, now)
            return RateLimited(retry_after=retry_after, window=window, fields=limit.fields)
        return limit.error(retry_after=retry_after, fields=limit.fields)

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except StorageUnavailable:
            raise LimitsUnavailable() from None


def _window_name(limit: Limit) -> str:
    return "hour" if limit.window == HOUR else "day"


def _rate_window(limit: Limit, used: int, now: float) -> RateWindow:
    return RateWindow(
        limit=limit.counter.limit,
        remaining=max(0, limit.counter.limit - used),
        reset_seconds=max(0, math.ceil(limit.counter.window_end - now)),
    )
