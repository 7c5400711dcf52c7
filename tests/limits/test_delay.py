"""The delay's rules, on process memory and on Redis (the replicas' storage)."""

from collections.abc import AsyncIterator, Callable

import pytest

from otpservice.clock import FakeClock
from otpservice.errors import NumberDelayed
from otpservice.limits.delay import DelayPolicy, DelayStore, ExponentialDelay
from otpservice.limits.storage import open_limit_storage

NUMBER = "+393331234567"
DelayFactory = Callable[..., ExponentialDelay]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[DelayStore]:
    if request.param == "memory":
        storage = open_limit_storage("memory://")
    else:
        storage = open_limit_storage(request.getfixturevalue("redis_url"),
                                     request.getfixturevalue("redis_prefix"))
    yield storage.delays
    await storage.close()


@pytest.fixture
def make_delay(store: DelayStore, clock: FakeClock) -> DelayFactory:
    def factory(clock: FakeClock = clock, base: float = 1, cap: float = 300, reset: float = 120) -> ExponentialDelay:
        return ExponentialDelay(store, DelayPolicy(base=base, cap=cap, reset_after=reset), clock)

    return factory


async def test_first_send_free_then_doubling(make_delay: DelayFactory, clock: FakeClock) -> None:
    delay = make_delay(base=2)
    await delay.acquire(NUMBER)
    for expected_wait in (2, 4, 8, 16):
        with pytest.raises(NumberDelayed) as refused:
            await delay.acquire(NUMBER)
        assert refused.value.retry_after == pytest.approx(expected_wait)
        clock.advance(expected_wait)
        await delay.acquire(NUMBER)


async def test_refused_attempt_changes_nothing(make_delay: DelayFactory, clock: FakeClock) -> None:
    delay = make_delay(base=10)
    await delay.acquire(NUMBER)
    clock.advance(4)
    for _ in range(3):
        with pytest.raises(NumberDelayed) as refused:
            await delay.acquire(NUMBER)
        assert refused.value.retry_after == pytest.approx(6)
    clock.advance(6)
    await delay.acquire(NUMBER)


async def test_cap_bounds_the_delay(make_delay: DelayFactory, clock: FakeClock) -> None:
    delay = make_delay(base=1, cap=5, reset=1000)
    await delay.acquire(NUMBER)
    waits = []
    for _ in range(6):
        with pytest.raises(NumberDelayed) as refused:
            await delay.acquire(NUMBER)
        waits.append(refused.value.retry_after)
        clock.advance(refused.value.retry_after)
        await delay.acquire(NUMBER)
    assert waits == pytest.approx([1, 2, 4, 5, 5, 5])


async def test_reset_wins_when_it_comes_first(make_delay: DelayFactory, clock: FakeClock) -> None:
    delay = make_delay(base=100, cap=300, reset=120)
    await delay.acquire(NUMBER)
    clock.advance(100)
    await delay.acquire(NUMBER)  # second send: waited the base
    with pytest.raises(NumberDelayed) as refused:
        await delay.acquire(NUMBER)
    assert refused.value.retry_after == pytest.approx(120)  # 200 s doubling, reset at 120 s
    clock.advance(120)
    await delay.acquire(NUMBER)  # count reset: free again
    with pytest.raises(NumberDelayed) as refused:
        await delay.acquire(NUMBER)
    assert refused.value.retry_after == pytest.approx(100)


async def test_numbers_are_independent(make_delay: DelayFactory, clock: FakeClock) -> None:
    delay = make_delay()
    await delay.acquire(NUMBER)
    await delay.acquire("+14155550100")
    with pytest.raises(NumberDelayed):
        await delay.acquire(NUMBER)
