"""Where the send budget is kept: process memory (one box) or Redis (replicas).

A reservation is one atomic step: every counter is checked, then (only if all have room
and the number's delay allows a send) every counter is taken and the delay advanced. In
memory that step has no await inside; on Redis it is one Lua script. A release gives back
exactly what one reservation took.
"""

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from otpservice.limits.delay import DelayPolicy

# SPEC 16: every limit storage call is bounded.
STORAGE_TIMEOUT_SECONDS = 0.5
T = TypeVar("T")


class StorageUnavailable(Exception):
    """The limit storage did not answer in time."""


@dataclass(frozen=True)
class Counter:
    key: str  # the full storage key, window index included
    limit: int
    window_end: float  # epoch seconds; the counter expires then


@dataclass(frozen=True)
class DelayState:
    key: str
    policy: DelayPolicy


@dataclass(frozen=True)
class Taken:
    counts: tuple[int, ...]  # each counter's value after this reservation
    delay_mark: str | None  # the `last` this reservation wrote (None: no delay taken)
    previous_sends: int = 0
    previous_last: str = "0"


@dataclass(frozen=True)
class Refused:
    counter: int | None  # index of the full counter; None when the delay refused
    retry_after: float


class BudgetStore(Protocol):
    async def reserve(self, counters: list[Counter], delay: DelayState | None, now: float) -> Taken | Refused: ...

    async def release(self, counters: list[Counter], delay: DelayState | None, taken: Taken) -> None: ...

    async def first_time(self, key: str, now: float, until: float) -> bool:
        """True for the first caller to mark `key` between now and `until` (epoch s), False after."""
        ...

    async def peek(self, counters: list[Counter], now: float) -> list[int]:
        """The counters' values, taking nothing."""
        ...

    async def ping(self) -> bool: ...


class MemoryBudgetStore:
    SWEEP_EVERY = 60.0

    def __init__(self) -> None:
        self._counters: dict[str, tuple[int, float]] = {}
        self._delays: dict[str, tuple[int, float, float]] = {}  # sends, last, forget at
        self._next_sweep = 0.0
        self._marks: dict[str, float] = {}

    async def peek(self, counters: list[Counter], now: float) -> list[int]:
        return [self._count(counter.key, now) for counter in counters]

    async def first_time(self, key: str, now: float, until: float) -> bool:
        if self._marks.get(key, 0.0) > now:
            return False
        self._marks[key] = until
        return True

    async def reserve(self, counters: list[Counter], delay: DelayState | None, now: float) -> Taken | Refused:
        if now >= self._next_sweep:
            self._sweep(now)
        for index, counter in enumerate(counters):
            if self._count(counter.key, now) >= counter.limit:
                return Refused(index, counter.window_end - now)
        mark, previous_sends, previous_last = None, 0, 0.0
        if delay is not None:
            previous_sends, previous_last, _ = self._delays.get(delay.key, (0, 0.0, 0.0))
            wait, sends = delay.policy.decide(previous_sends, previous_last, now)
            if wait is not None:
                return Refused(None, wait)
            mark = repr(now)
            self._delays[delay.key] = (sends + 1, now, now + delay.policy.state_ttl)
        counts = []
        for counter in counters:
            count = self._count(counter.key, now) + 1
            self._counters[counter.key] = (count, counter.window_end)
            counts.append(count)
        return Taken(tuple(counts), mark, previous_sends, repr(previous_last))

    async def release(self, counters: list[Counter], delay: DelayState | None, taken: Taken) -> None:
        for counter in counters:
            count, ends = self._counters.get(counter.key, (0, 0.0))
            if count > 0:
                self._counters[counter.key] = (count - 1, ends)
        if delay is not None and taken.delay_mark is not None:
            current = self._delays.get(delay.key)
            if current is not None and repr(current[1]) == taken.delay_mark:
                if taken.previous_sends == 0:
                    del self._delays[delay.key]
                else:
                    last = float(taken.previous_last)
                    self._delays[delay.key] = (taken.previous_sends, last, last + delay.policy.state_ttl)

    async def ping(self) -> bool:
        return True

    def _count(self, key: str, now: float) -> int:
        count, ends = self._counters.get(key, (0, 0.0))
        return count if ends > now else 0

    def _sweep(self, now: float) -> None:
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        self._delays = {k: v for k, v in self._delays.items() if v[2] > now}
        self._marks = {k: until for k, until in self._marks.items() if until > now}
        self._next_sweep = now + self.SWEEP_EVERY


# KEYS: the counters, then the delay hash (when ARGV[3] == '1').
# ARGV: now, number of counters, delay?, then per counter limit and ttl in ms,
# then base, cap, reset of the delay. Fractional seconds travel as strings.
_RESERVE = """
local now, n, with_delay = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
for i = 1, n do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[2 + 2 * i]) then
    return {'counter', i}
  end
end
local previous_sends, previous_last = 0, '0'
if with_delay then
  local base, cap, reset = tonumber(ARGV[4 + 2 * n]), tonumber(ARGV[5 + 2 * n]), tonumber(ARGV[6 + 2 * n])
  local state = redis.call('HMGET', KEYS[n + 1], 's', 'l')
  local sends = tonumber(state[1]) or 0
  previous_sends, previous_last = sends, state[2] or '0'
  if sends > 0 then
    local allowed = tonumber(state[2]) + math.min(base * 2 ^ math.min(sends - 1, 60), cap)
    if now < allowed then return {'delay', tostring(allowed - now)} end
    if now >= allowed + reset then sends = 0 end
  end
  redis.call('HSET', KEYS[n + 1], 's', sends + 1, 'l', ARGV[1])
  redis.call('PEXPIRE', KEYS[n + 1], math.ceil((cap + reset) * 1000))
end
local result = {'ok', previous_sends, previous_last}
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3 + 2 * i]) end
  result[#result + 1] = count
end
return result
"""

# KEYS as above; ARGV: number of counters, the `last` we wrote (or ''), previous sends, previous last.
_RELEASE = """
local n = tonumber(ARGV[1])
for i = 1, n do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[n + 1], 'l') == ARGV[2] then
  if tonumber(ARGV[3]) == 0 then
    redis.call('DEL', KEYS[n + 1])
  else
    redis.call('HSET', KEYS[n + 1], 's', ARGV[3], 'l', ARGV[4])
  end
end
return 1
"""


class RedisBudgetStore:
    def __init__(self, client: Redis) -> None:
        self._client = client
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)

    async def reserve(self, counters: list[Counter], delay: DelayState | None, now: float) -> Taken | Refused:
        keys = [counter.key for counter in counters]
        args: list[str | int] = [repr(now), len(counters), "1" if delay else "0"]
        for counter in counters:
            args += [counter.limit, max(1, int((counter.window_end - now) * 1000) + 1000)]
        if delay is not None:
            keys.append(delay.key)
            args += [repr(delay.policy.base), repr(delay.policy.cap), repr(delay.policy.reset_after)]
        result = await self._call(self._reserve(keys=keys, args=args))
        outcome = result[0].decode() if isinstance(result[0], bytes) else result[0]
        if outcome == "counter":
            index = int(result[1]) - 1
            return Refused(index, counters[index].window_end - now)
        if outcome == "delay":
            return Refused(None, float(result[1]))
        previous_last = result[2].decode() if isinstance(result[2], bytes) else str(result[2])
        return Taken(
            tuple(int(count) for count in result[3:]), repr(now) if delay else None, int(result[1]), previous_last
        )

    async def release(self, counters: list[Counter], delay: DelayState | None, taken: Taken) -> None:
        keys = [counter.key for counter in counters]
        if delay is not None:
            keys.append(delay.key)
        mark = taken.delay_mark if delay is not None and taken.delay_mark is not None else ""
        await self._call(
            self._release(keys=keys, args=[len(counters), mark, taken.previous_sends, taken.previous_last])
        )

    async def peek(self, counters: list[Counter], now: float) -> list[int]:
        if not counters:
            return []
        values = await self._call(self._client.mget([counter.key for counter in counters]))
        return [int(value) if value is not None else 0 for value in values]

    async def first_time(self, key: str, now: float, until: float) -> bool:
        ttl_ms = max(1000, int((until - now) * 1000) + 1000)
        return bool(await self._call(self._client.set(key + ":once", 1, nx=True, px=ttl_ms)))

    async def ping(self) -> bool:
        return bool(await self._call(self._client.ping()))

    async def _call(self, awaitable: Awaitable[T]) -> T:
        return await bounded(awaitable)


async def bounded(awaitable: Awaitable[T]) -> T:
    """One call to the limit storage, bounded: StorageUnavailable when it fails or hangs."""
    try:
        return await asyncio.wait_for(awaitable, STORAGE_TIMEOUT_SECONDS)
    except (TimeoutError, RedisError, OSError) as exc:
        raise StorageUnavailable(type(exc).__name__) from None
