"""Window counters in process memory, constant time per hit.

The `limits` library's MemoryStorage walks every live key's expiry on each hit; with two
day-long caps per phone number that grows with every number seen (bench/RESULTS.md). This
store keeps (count, window end) per key and sweeps expired keys at most once a minute.
"""

import time

from limits.aio.storage import Storage

SWEEP_INTERVAL_SECONDS = 60.0


class WindowMemoryStorage(Storage):
    STORAGE_SCHEME = ["otpservice-memory"]  # noqa: RUF012 (limits declares it a plain attribute)

    def __init__(self) -> None:  # no URI or options: nothing to connect to
        self._windows: dict[str, tuple[int, float]] = {}
        self._next_sweep = time.time() + SWEEP_INTERVAL_SECONDS

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ()

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        if now >= self._next_sweep:
            self._sweep(now)
        count, ends = self._windows.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + expiry
        count += amount
        self._windows[key] = (count, ends)
        return count

    async def get(self, key: str) -> int:
        count, ends = self._windows.get(key, (0, 0.0))
        return count if ends > time.time() else 0

    async def get_expiry(self, key: str) -> float:
        now = time.time()
        _, ends = self._windows.get(key, (0, 0.0))
        return ends if ends > now else now

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        cleared = len(self._windows)
        self._windows.clear()
        return cleared

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)

    def _sweep(self, now: float) -> None:
        for key in [key for key, (_, ends) in self._windows.items() if ends <= now]:
            del self._windows[key]
        self._next_sweep = now + SWEEP_INTERVAL_SECONDS

    def __len__(self) -> int:
        return len(self._windows)
