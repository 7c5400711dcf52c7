"""The fixed-window limit on memory and on Redis, where replicas share one counter."""

from collections.abc import AsyncIterator

import pytest

from otpservice.errors import NumberCapReached, RateLimited
from otpservice.limits.storage import LimitStorage, open_limit_storage
from otpservice.limits.window import WindowLimit


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[LimitStorage]:
    if request.param == "memory":
        opened = open_limit_storage("memory://")
    else:
        opened = open_limit_storage(request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"))
    yield opened
    await opened.close()


async def test_refuses_past_the_amount_with_headers(storage: LimitStorage) -> None:
    limit = WindowLimit(storage.windows, "global", 3, 60, RateLimited)
    remaining = [(await limit.hit(headers=True))["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    with pytest.raises(RateLimited) as refused:
        await limit.hit()
    assert 1 <= refused.value.retry_after <= 60
    assert refused.value.headers["X-RateLimit-Limit"] == "3"


async def test_keys_are_counted_apart(storage: LimitStorage) -> None:
    limit = WindowLimit(storage.windows, "cap", 1, 3600, NumberCapReached)
    await limit.hit("+393331234567")
    await limit.hit("+14155552671")
    with pytest.raises(NumberCapReached):
        await limit.hit("+393331234567")


@pytest.mark.redis
async def test_two_storages_on_one_redis_share_the_counter(redis_url: str, redis_prefix: str) -> None:
    """What replicas rely on: two processes' storages see one window."""
    first, second = open_limit_storage(redis_url, redis_prefix), open_limit_storage(redis_url, redis_prefix)
    try:
        limits = [WindowLimit(s.windows, "global", 4, 60, RateLimited) for s in (first, second)]
        for index in range(4):
            await limits[index % 2].hit()
        with pytest.raises(RateLimited):
            await limits[0].hit()
        with pytest.raises(RateLimited):
            await limits[1].hit()
    finally:
        await first.close()
        await second.close()


async def test_memory_hits_never_scan_the_other_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """limits' MemoryStorage walks every key on each hit (O(numbers seen)); ours scans only in
    the once-a-minute sweep. Counted, not timed: the bench shows what it costs."""
    import otpservice.limits.memory as memory

    scans = []
    monkeypatch.setattr(memory.WindowMemoryStorage, "_sweep", lambda self, now: scans.append(now))
    storage = memory.WindowMemoryStorage()
    limit = WindowLimit(storage, "otp-number-day", 50, 86400, NumberCapReached)
    for index in range(20_000):
        await limit.hit(f"+39333{index:07d}")
    assert len(storage) == 20_000 and scans == []
    assert await limit.remaining("+393330000001") == 49


async def test_memory_window_expires_and_is_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    import otpservice.limits.memory as memory

    now = [1_000_000.0]
    monkeypatch.setattr(memory.time, "time", lambda: now[0])
    storage = memory.WindowMemoryStorage()
    assert await storage.incr("a", 10) == 1
    assert await storage.incr("a", 10) == 2
    assert await storage.get_expiry("a") == 1_000_010.0
    now[0] += 10
    assert await storage.get("a") == 0
    assert await storage.incr("a", 10) == 1  # a new window
    await storage.incr("b", 5)
    now[0] += memory.SWEEP_INTERVAL_SECONDS
    await storage.incr("c", 5)  # the sweep drops the windows that ended
    assert len(storage) == 1
