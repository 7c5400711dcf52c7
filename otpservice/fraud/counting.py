"""The breaker's counts, added up in memory and written at most every FLUSH_SECONDS.

One upsert per (scope, key, bucket) and flush instead of one write transaction per start:
the cost of counting does not grow with the traffic nor with the tables. What a crash can
lose is the last second's counts (a statistical signal, not a ledger); a stop flushes.
"""

import asyncio
import logging
from collections import defaultdict

from otpservice.clock import Clock
from otpservice.db.fraud import FraudStore

log = logging.getLogger("otpservice.fraud")

FLUSH_SECONDS = 1.0
# A database that stays away does not make the buffer grow without end.
MAX_PENDING_KEYS = 100_000
Key = tuple[str, str, int]  # scope, key, bucket


class CountBuffer:
    def __init__(self, store: FraudStore, clock: Clock) -> None:
        self._store, self._clock = store, clock
        self._pending: defaultdict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
        self._flushed_at = clock.now()
        self._lock = asyncio.Lock()

    def add(
        self, keys: list[tuple[str, str]], bucket: int, *, sent: int = 0, approved: int = 0, ended: int = 0
    ) -> None:
        if len(self._pending) >= MAX_PENDING_KEYS:
            log.warning("breaker counts dropped: the database has not taken them for a while")
            return
        for scope, key in keys:
            counts = self._pending[(scope, key, bucket)]
            counts[0] += sent
            counts[1] += approved
            counts[2] += ended

    async def flush_if_due(self) -> None:
        if self._pending and self._clock.now() - self._flushed_at >= FLUSH_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            self._flushed_at = self._clock.now()
            pending, self._pending = self._pending, defaultdict(lambda: [0, 0, 0])
            try:
                await self._store.add_many(
                    [
                        (scope, key, bucket, sent, approved, ended)
                        for (scope, key, bucket), (sent, approved, ended) in pending.items()
                    ]
                )
            except Exception:
                log.warning("breaker counts not written yet", exc_info=True)
                for name, counts in pending.items():  # kept for the next flush
                    mine = self._pending[name]
                    for index, value in enumerate(counts):
                        mine[index] += value
