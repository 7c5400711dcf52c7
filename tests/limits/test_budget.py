"""The send budget on process memory and on Redis: one atomic reservation, all or nothing."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from otpservice.api.errors import response_headers, status_of
from otpservice.clock import FakeClock
from otpservice.core.rate_window import RateWindow
from otpservice.errors import (
    BudgetExhausted,
    IpRateLimited,
    LimitsUnavailable,
    NumberCapReached,
    NumberDelayed,
    RateLimited,
)
from otpservice.limits.budget import BudgetRules, SendBudget
from otpservice.limits.budget_store import BudgetStore
from otpservice.limits.delay import DelayPolicy
from otpservice.limits.storage import open_limit_storage

NUMBER = "+393331234567"
OTHER = "+393331234568"
HUGE = 10**9
BudgetFactory = Callable[..., SendBudget]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[BudgetStore]:
    if request.param == "memory":
        storage = open_limit_storage("memory://")
    else:
        storage = open_limit_storage(request.getfixturevalue("redis_url"))
    yield storage.budget
    await storage.close()


@pytest.fixture
def make_budget(store: BudgetStore, clock: FakeClock, redis_prefix: str) -> BudgetFactory:
    def factory(*, base: float = 1, cap: float = 300, reset: float = 120, **rules: Any) -> SendBudget:
        values: dict[str, Any] = {
            "global_limit": HUGE,
            "global_window": 60,
            "otp_per_number_hour": HUGE,
            "otp_per_number_day": HUGE,
            "per_client_minute": HUGE,
        }
        values.update(rules)
        return SendBudget(store, BudgetRules(delay=DelayPolicy(base, cap, reset), **values), clock, redis_prefix)

    return factory


async def test_the_delay_grows_to_its_cap_and_stays_there(make_budget: BudgetFactory, clock: FakeClock) -> None:
    budget = make_budget()  # the defaults: base 1 s, cap 300 s, reset after 120 s
    await budget.reserve(NUMBER, kind="sms", country="IT")
    waits = []
    for _ in range(11):
        with pytest.raises(NumberDelayed) as refused:
            await budget.reserve(NUMBER, kind="sms", country="IT")
        assert refused.value.retry_after is not None
        waits.append(round(refused.value.retry_after))
        clock.advance(refused.value.retry_after)
        await budget.reserve(NUMBER, kind="sms", country="IT")
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


async def test_the_delay_resets_after_delay_plus_reset(make_budget: BudgetFactory, clock: FakeClock) -> None:
    budget = make_budget(base=10)
    await budget.reserve(NUMBER, kind="sms", country="IT")
    clock.advance(10)
    await budget.reserve(NUMBER, kind="sms", country="IT")  # the 2nd send; the next waits 20 s
    clock.advance(20 + 119)
    await budget.reserve(NUMBER, kind="sms", country="IT")  # still counted: the 3rd
    with pytest.raises(NumberDelayed) as refused:
        await budget.reserve(NUMBER, kind="sms", country="IT")
    assert refused.value.retry_after == pytest.approx(40)
    clock.advance(40 + 120)  # left alone for delay + reset: starts again at 0
    await budget.reserve(NUMBER, kind="sms", country="IT")
    with pytest.raises(NumberDelayed) as refused:
        await budget.reserve(NUMBER, kind="sms", country="IT")
    assert refused.value.retry_after == pytest.approx(10)


async def test_a_refusal_takes_nothing(make_budget: BudgetFactory, clock: FakeClock) -> None:
    budget = make_budget(base=1, global_limit=3, otp_per_number_hour=1)
    await budget.reserve(NUMBER, kind="otp", country="IT", client="198.51.100.1")
    clock.advance(5)
    for _ in range(5):  # capped: neither the global window nor the delay moves
        with pytest.raises(NumberCapReached) as capped:
            await budget.reserve(NUMBER, kind="otp", country="IT", client="198.51.100.1")
        assert capped.value.retry_after is not None and 0 < capped.value.retry_after <= 3600
    await budget.reserve(OTHER, kind="otp", country="IT", client="198.51.100.1")
    reservation = await budget.reserve("+393331234569", kind="otp", country="IT")
    assert reservation.rate_window() == RateWindow(limit=3, remaining=0, reset_seconds=55)
    with pytest.raises(RateLimited) as limited:
        await budget.reserve("+393331234560", kind="otp", country="IT")
    assert limited.value.window == RateWindow(limit=3, remaining=0, reset_seconds=55)


async def test_each_reservation_reports_the_global_window(make_budget: BudgetFactory, clock: FakeClock) -> None:
    budget = make_budget(global_limit=3)
    clock.advance(0.5)  # the reset is whole seconds, rounded up
    windows = [(await budget.reserve(number, kind="sms", country="IT")).rate_window() for number in (NUMBER, OTHER)]
    assert windows == [RateWindow(3, 2, 60), RateWindow(3, 1, 60)]
    clock.advance(60)  # the next window: the count starts again
    assert (await budget.reserve("+393331234569", kind="sms", country="IT")).rate_window() == RateWindow(3, 2, 60)
    clock.advance(59)  # half a second left
    assert (await budget.reserve("+393331234560", kind="sms", country="IT")).rate_window() == RateWindow(3, 1, 1)


async def test_release_gives_back_every_counter_and_the_delay(make_budget: BudgetFactory) -> None:
    budget = make_budget(base=60, global_limit=1, otp_per_number_hour=1, per_client_minute=1)
    first = await budget.reserve(NUMBER, kind="otp", country="IT", client="198.51.100.1")
    await budget.release(first)
    # At once, same instant: the delay, the caps and the window are all free again.
    again = await budget.reserve(NUMBER, kind="otp", country="IT", client="198.51.100.1")
    with pytest.raises(RateLimited):
        await budget.reserve(OTHER, kind="otp", country="IT")
    await budget.release(again)
    await budget.reserve(OTHER, kind="otp", country="IT")


async def test_release_restores_an_earlier_delay_count(make_budget: BudgetFactory, clock: FakeClock) -> None:
    budget = make_budget(base=10)
    await budget.reserve(NUMBER, kind="sms", country="IT")
    clock.advance(10)
    second = await budget.reserve(NUMBER, kind="sms", country="IT")
    await budget.release(second)  # e.g. refused for the balance: as if never sent
    await budget.reserve(NUMBER, kind="sms", country="IT")
    with pytest.raises(NumberDelayed) as refused:
        await budget.reserve(NUMBER, kind="sms", country="IT")
    assert refused.value.retry_after == pytest.approx(20)


async def test_plain_and_verification_caps_count_apart(make_budget: BudgetFactory, clock: FakeClock) -> None:
    budget = make_budget(base=0.001, cap=0.001, otp_per_number_hour=1, sms_per_number_hour=1)
    await budget.reserve(NUMBER, kind="otp", country="IT")
    clock.advance(1)
    await budget.reserve(NUMBER, kind="sms", country="IT")
    clock.advance(1)
    for kind in ("otp", "sms"):
        with pytest.raises(NumberCapReached):
            await budget.reserve(NUMBER, kind=kind, country="IT")  # type: ignore[arg-type]


async def test_the_client_cap_counts_checks(make_budget: BudgetFactory) -> None:
    budget = make_budget(per_client_minute=2)
    await budget.count_client("198.51.100.1")
    await budget.count_client("198.51.100.1")
    with pytest.raises(IpRateLimited):
        await budget.count_client("198.51.100.1")
    with pytest.raises(IpRateLimited):
        await budget.reserve(NUMBER, kind="otp", country="IT", client="198.51.100.1")
    await budget.count_client("198.51.100.2")


async def test_spend_budgets_per_country_and_global(make_budget: BudgetFactory, clock: FakeClock) -> None:
    budget = make_budget(base=0.001, cap=0.001, spend_hour=3, spend_country_day=10, spend_countries={"GB": 1})
    await budget.reserve("+447400123456", kind="sms", country="GB")
    with pytest.raises(BudgetExhausted) as country:
        await budget.reserve("+447400123457", kind="sms", country="GB")
    assert country.value.fields == {"scope": "country", "key": "GB"}
    await budget.reserve(NUMBER, kind="sms", country="IT")
    await budget.reserve(OTHER, kind="otp", country="IT")
    with pytest.raises(BudgetExhausted) as global_:
        await budget.reserve("+393331234569", kind="sms", country="IT")
    assert global_.value.fields == {"scope": "global", "key": "*"}
    retry_after = global_.value.retry_after
    assert retry_after is not None and 0 < retry_after <= 3600
    await budget.reserve("+393331234560", kind="otp", country="IT", spend=False)  # a test number: no SMS


@pytest.mark.parametrize("kind", ["otp", "sms"])
async def test_concurrent_reservations_never_pass_a_cap(make_budget: BudgetFactory, kind: str) -> None:
    budget = make_budget(otp_per_number_hour=3, sms_per_number_hour=3)

    async def one() -> bool:
        try:
            await budget.reserve(NUMBER, kind=kind, country="IT", delay=False)  # type: ignore[arg-type]
        except NumberCapReached:
            return False
        return True

    results = await asyncio.gather(*(one() for _ in range(25)))
    assert sum(results) == 3


async def test_an_unreachable_redis_fails_closed_and_fast(clock: FakeClock) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = open_limit_storage(f"redis://127.0.0.1:{port}/0")
    budget = SendBudget(
        storage.budget, BudgetRules(global_limit=5, global_window=60, delay=DelayPolicy(1, 300, 120)), clock
    )
    try:
        with pytest.raises(LimitsUnavailable) as down:
            await budget.reserve(NUMBER, kind="sms", country="IT")
        assert status_of(down.value) == 503 and response_headers(down.value)["Retry-After"] == "1"
        with pytest.raises(LimitsUnavailable):
            await budget.count_client("198.51.100.1")
        assert await storage.ping() is False
    finally:
        await storage.close()


async def test_concurrent_sends_never_pass_a_spend_budget(make_budget: BudgetFactory) -> None:
    budget = make_budget(spend_country_day=5)

    async def one(index: int) -> bool:
        try:
            await budget.reserve(f"+3933312345{index:02d}", kind="sms", country="IT")
        except BudgetExhausted:
            return False
        return True

    results = await asyncio.gather(*(one(index) for index in range(30)))
    assert sum(results) == 5


class Recorder:
    def __init__(self) -> None:
        self.crossings: list[tuple[str, str, str, int, int]] = []
        self.gauges: dict[tuple[str, str, str], tuple[int, int]] = {}

    def threshold_of(self, limit: int) -> int:
        return max(1, -(-limit * 8 // 10))

    def used(self, scope: str, key: str, window: str, used: int, limit: int) -> None:
        self.gauges[(scope, key, window)] = (used, limit)

    def crossed(self, event: str, scope: str, key: str, window: str, used: int, limit: int) -> None:
        self.crossings.append((event, scope, key, used, limit))


async def test_each_crossing_is_reported_once_per_window(
    store: BudgetStore, clock: FakeClock, redis_prefix: str
) -> None:
    recorder = Recorder()
    rules = BudgetRules(global_limit=HUGE, global_window=60, delay=DelayPolicy(1, 1, 1), spend_hour=5)
    budget = SendBudget(store, rules, clock, redis_prefix, watcher=recorder)
    for index in range(8):
        try:
            await budget.reserve(f"+3933312345{index:02d}", kind="sms", country="IT")
        except BudgetExhausted:
            pass
    assert recorder.crossings == [("budget_threshold", "global", "*", 4, 5), ("budget_exhausted", "global", "*", 5, 5)]
    assert recorder.gauges[("global", "*", "hour")] == (5, 5)
    clock.advance(3600)  # the next UTC hour: a new window, new alerts
    for index in range(5):
        await budget.reserve(f"+3933312346{index:02d}", kind="sms", country="IT")
    assert [crossing[0] for crossing in recorder.crossings] == [
        "budget_threshold",
        "budget_exhausted",
        "budget_threshold",
    ]
