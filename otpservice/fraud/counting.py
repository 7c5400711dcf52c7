"""The breaker's counts in this process: its own, exact at every instant, and the other replicas'.

Own events land in memory at once (the start after the one that tipped a key sees it) and
are written every FLUSH_SECONDS under this process's replica id, one upsert per key and
second. The other replicas' rows are read back by `written_at`, each one replacing what was
known of it, so a row read twice is counted once. A reset (or an allow, or a closing probe)
sets a key's `since`: every count before it is dropped here, never written if still pending,
and ignored when another replica's row for it arrives later.
"""

import asyncio
import logging
import math
import secrets
from collections import defaultdict

from otpservice.clock import Clock
from otpservice.fraud.ports import FraudStore, TallyRecord
from otpservice.fraud.rules import FraudRules
from otpservice.fraud.window import KeyWindow, Tally

log = logging.getLogger("otpservice.fraud")

FLUSH_SECONDS = 1.0
# Rows are read again for this long after they were written: a flush's transaction may
# commit after a read began, and replicas' clocks differ a little.
READ_LAG_SECONDS = 3.0
# A process's first read sums the rows older than the grace and this margin (rows no replica
# writes again) in groups of SUMMARY_SECONDS: their counts leave the window a little early.
SETTLED_MARGIN_SECONDS = 60
SUMMARY_SECONDS = 600
# A database that stays away does not make the buffer grow without end.
MAX_PENDING_KEYS = 100_000
Key = tuple[str, str]  # scope, key
Row = tuple[str, str, int]  # scope, key, bucket


class Counts:
    def __init__(self, store: FraudStore, rules: FraudRules, clock: Clock) -> None:
        self._store, self._rules, self._clock = store, rules, clock
        self.replica = secrets.token_hex(8)
        self._windows: dict[Key, KeyWindow] = {}
        self._since: dict[Key, float] = {}
        self._pending: defaultdict[Row, list[int]] = defaultdict(lambda: [0, 0, 0])
        self._remote: dict[tuple[str, str, str, int], tuple[int, int, int]] = {}
        self._read_at: float | None = None
        self._flushed_at = clock.now()
        self._lock = asyncio.Lock()

    def add(self, scope: str, key: str, bucket: int, *, sent: int = 0, approved: int = 0, early: int = 0) -> None:
        """An event of this process, counted here at once and written with the next flush."""
        if bucket < self._since.get((scope, key), float("-inf")):
            return
        self._window(scope, key).add(bucket, self._clock.now(), sent, approved, early)
        if len(self._pending) >= MAX_PENDING_KEYS:
            log.warning("breaker counts not written: the database has not taken them for a while")
            return
        counts = self._pending[(scope, key, bucket)]
        counts[0] += sent
        counts[1] += approved
        counts[2] += early

    def tally(self, scope: str, key: str, now: float) -> Tally:
        found = self._windows.get((scope, key))
        return found.tally(now) if found is not None else Tally(0, 0)

    def since(self, scope: str, key: str) -> float | None:
        return self._since.get((scope, key))

    def discard_before(self, scope: str, key: str, at: float) -> None:
        """Drop every count of the key up to `at`: here, pending, and arriving later. The whole
        second of `at` goes, so that no count made before it survives in a shared bucket."""
        since = math.floor(at) + 1
        if since <= self._since.get((scope, key), float("-inf")):
            return
        self._since[(scope, key)] = since
        found = self._windows.get((scope, key))
        if found is not None:
            found.discard_before(since)
        for row in [row for row in self._pending if row[:2] == (scope, key) and row[2] < since]:
            del self._pending[row]
        for name in [name for name in self._remote if name[1:3] == (scope, key) and name[3] < since]:
            del self._remote[name]

    async def read_remote(self) -> None:
        """The other replicas' rows written since the last read (the whole window the first time)."""
        now = self._clock.now()
        first = int(now - self._rules.window)
        if self._read_at is None:
            settled = int(now) - self._rules.grace - SETTLED_MARGIN_SECONDS
            summary = await self._store.tally_summary(first, settled, SUMMARY_SECONDS, self.replica)
            rows = await self._store.tallies(settled, None, self.replica)
            for group in summary:  # a group straddling a reset is left out whole
                if group.bucket >= self._since.get((group.scope, group.key), float("-inf")):
                    self._window(group.scope, group.key).add(group.bucket, now, group.sent, group.approved, group.early)
        else:
            rows = await self._store.tallies(first, self._read_at - READ_LAG_SECONDS, self.replica)
        self._read_at = now
        for row in rows:
            self._take(row, now)

    def _take(self, row: TallyRecord, now: float) -> None:
        if row.bucket < self._since.get((row.scope, row.key), float("-inf")):
            return
        name = (row.replica, row.scope, row.key, row.bucket)
        sent, approved, early = self._remote.get(name, (0, 0, 0))
        self._remote[name] = (row.sent, row.approved, row.early)
        if (row.sent, row.approved, row.early) != (sent, approved, early):
            self._window(row.scope, row.key).add(
                row.bucket, now, row.sent - sent, row.approved - approved, row.early - early
            )

    def _window(self, scope: str, key: str) -> KeyWindow:
        found = self._windows.get((scope, key))
        if found is None:
            found = self._windows[(scope, key)] = KeyWindow(self._rules.window, self._rules.grace_for(scope))
        return found

    def prune(self, now: float) -> None:
        """Forget keys with nothing left in the window."""
        first = now - self._rules.window
        for name, found in list(self._windows.items()):
            found.tally(now)
            if not len(found):
                del self._windows[name]
        self._remote = {name: value for name, value in self._remote.items() if name[3] >= first}
        self._since = {name: since for name, since in self._since.items() if since >= first}

    async def flush_if_due(self) -> None:
        if self._pending and self._clock.now() - self._flushed_at >= FLUSH_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            self._flushed_at = self._clock.now()
            pending, self._pending = self._pending, defaultdict(lambda: [0, 0, 0])
            rows = [(scope, key, bucket, c[0], c[1], c[2]) for (scope, key, bucket), c in pending.items()]
            try:
                await self._store.add_many(self.replica, self._flushed_at, rows)
            except Exception:
                log.warning("breaker counts not written yet", exc_info=True)
                for row, counts in pending.items():  # kept for the next flush, unless discarded since
                    if row[2] >= self._since.get(row[:2], float("-inf")):
                        mine = self._pending[row]
                        for index, value in enumerate(counts):
                            mine[index] += value
