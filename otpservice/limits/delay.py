"""Per-number exponential delay: 1st send free, then base, 2x, 4x ... up to a cap.

The count resets after `reset_after` seconds with no send. The next send is allowed at
min(last + delay, last + reset_after). A refused attempt changes nothing.
"""

from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from otpservice.clock import Clock
from otpservice.errors import NumberDelayed


@dataclass(frozen=True)
class DelayPolicy:
    base: float
    cap: float
    reset_after: float

    def wait_after(self, sends: int) -> float:
        """Seconds required after the last of `sends` consecutive sends."""
        if sends <= 0:
            return 0.0
        return min(self.base * 2 ** min(sends - 1, 60), self.cap, self.reset_after)


class DelayStore(Protocol):
    async def acquire(self, key: str, now: float, policy: DelayPolicy) -> float | None:
        """Record a send and return None, or return seconds to wait (nothing recorded)."""
        ...


class MemoryDelayStore:
    def __init__(self, max_entries: int = 100_000) -> None:
        self._state: dict[str, tuple[int, float]] = {}
        self._max_entries = max_entries

    async def acquire(self, key: str, now: float, policy: DelayPolicy) -> float | None:
        sends, last = self._state.get(key, (0, 0.0))
        if sends and now - last < policy.reset_after:
            allowed_at = last + policy.wait_after(sends)
            if now < allowed_at:
                return allowed_at - now
        else:
            sends = 0
        if len(self._state) >= self._max_entries:
            self._forget_idle(now, policy.reset_after)
        self._state[key] = (sends + 1, now)
        return None

    def _forget_idle(self, now: float, reset_after: float) -> None:
        for key in [k for k, (_, last) in self._state.items() if now - last >= reset_after]:
            del self._state[key]


# Redis turns Lua numbers into integers, so fractional seconds travel as strings.
_ACQUIRE = """
local now, base, cap, reset = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'sends', 'last')
local sends, last = tonumber(state[1]) or 0, tonumber(state[2]) or 0
if sends > 0 and now - last < reset then
  local wait = math.min(base * 2 ^ math.min(sends - 1, 60), cap, reset)
  if now < last + wait then return tostring(last + wait - now) end
else
  sends = 0
end
redis.call('HSET', KEYS[1], 'sends', sends + 1, 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(reset * 1000))
return false
"""


class RedisDelayStore:
    def __init__(self, client: Redis, key_prefix: str = "otpservice") -> None:
        self._script = client.register_script(_ACQUIRE)
        self._prefix = f"{key_prefix}:delay:"

    async def acquire(self, key: str, now: float, policy: DelayPolicy) -> float | None:
        result = await self._script(
            keys=[self._prefix + key],
            args=[repr(now), repr(policy.base), repr(policy.cap), repr(policy.reset_after)],
        )
        return None if result is None else float(result)


class ExponentialDelay:
    def __init__(self, store: DelayStore, policy: DelayPolicy, clock: Clock) -> None:
        self._store, self._policy, self._clock = store, policy, clock

    async def acquire(self, receiver: str) -> None:
        """Count a send to `receiver`, or raise NumberDelayed with its Retry-After."""
        wait = await self._store.acquire(receiver, self._clock.now(), self._policy)
        if wait is not None:
            raise NumberDelayed(retry_after=wait)
