"""What a breaker row means at a given instant, and the per-process cache of active rows.

Each replica keeps the few active rows (open, or carrying an override) in memory and
reads them again at most every REFRESH_SECONDS, so that a trip or an override made
anywhere reaches every replica within 2 s and a start costs no query for them.
"""

import asyncio
import logging
from dataclasses import dataclass

from otpservice.clock import Clock, to_datetime
from otpservice.fraud.ports import OPEN, BreakerRecord, FraudStore
from otpservice.fraud.rules import COUNTRY, MAX_COOLDOWN, PREFIX, SCOPES
from otpservice.observability import metrics

log = logging.getLogger("otpservice.fraud")

REFRESH_SECONDS = 1.0
# Older than this, the cached state no longer says what the other replicas decided.
STALE_SECONDS = 5.0
BLOCK, ALLOW = "block", "allow"


class BreakerStateUnavailable(Exception):
    """The breaker state could not be read (and the cached copy is too old)."""


@dataclass(frozen=True)
class View:
    """A breaker row as the operator and the decision see it at `now`."""

    row: BreakerRecord
    state: str  # closed | open | half_open | blocked | allowed
    retry_at: float | None  # when a start may pass again (None: until reset)


def view(row: BreakerRecord, now: float, ttl: int) -> View:
    override = row.override
    until = row.override_until.timestamp() if row.override_until is not None else None
    if override is not None and (until is None or until > now):
        return View(row, "blocked" if override == BLOCK else "allowed", until)
    if row.state != OPEN or row.retry_at is None:
        return View(row, "closed", None)
    retry_at = row.retry_at.timestamp()
    if retry_at > now:
        return View(row, "open", retry_at)
    if row.last_probe_at is not None and row.probes > 0:
        return View(row, "half_open", max(retry_at, row.last_probe_at.timestamp() + ttl))
    return View(row, "half_open", retry_at)


def refusal_seconds(item: View, now: float) -> float:
    return MAX_COOLDOWN if item.retry_at is None else max(item.retry_at - now, 1.0)


class BreakerCache:
    def __init__(self, store: FraudStore, clock: Clock, ttl: int, window: int) -> None:
        self._store, self._clock, self._ttl, self._window = store, clock, ttl, window
        self._rows: dict[tuple[str, str], BreakerRecord] = {}
        self._loaded_at: float | None = None
        self._tried_at = float("-inf")
        self._lock = asyncio.Lock()
        self.generation = 0  # one more at each successful read

    def invalidate(self) -> None:
        self._tried_at = float("-inf")
        if self._loaded_at is not None:
            self._loaded_at = min(self._loaded_at, self._clock.now() - REFRESH_SECONDS)

    async def rows(self) -> dict[tuple[str, str], BreakerRecord]:
        """The active rows, read again when due; raises BreakerStateUnavailable when stale."""
        now = self._clock.now()
        if self._loaded_at is None or now - self._loaded_at >= REFRESH_SECONDS:
            async with self._lock:
                if now - self._tried_at >= REFRESH_SECONDS / 2:
                    self._tried_at = now
                    await self._load(now)
        if self._loaded_at is None or self._clock.now() - self._loaded_at >= STALE_SECONDS:
            raise BreakerStateUnavailable()
        return self._rows

    async def _load(self, now: float) -> None:
        try:
            rows = await self._store.active(to_datetime(now - self._window))
        except Exception:
            log.warning("breaker state unreadable", exc_info=True)
            return
        self._rows = {(row.scope, row.key): row for row in rows}
        self._loaded_at = now
        self.generation += 1
        states = [view(row, now, self._ttl).state for row in rows]
        for scope in SCOPES:
            metrics.fraud_open_breakers(
                scope,
                sum(
                    1
                    for row, state in zip(rows, states, strict=True)
                    if row.scope == scope and state != "closed" and state != "allowed"
                ),
            )

    def matching(self, number: str, country: str | None) -> list[BreakerRecord]:
        """Rows whose key covers the number: every prefix of it, and its country."""
        found = [
            self._rows[(PREFIX, number[:end])]
            for end in range(2, len(number) + 1)
            if (PREFIX, number[:end]) in self._rows
        ]
        if country is not None and (COUNTRY, country) in self._rows:
            found.append(self._rows[(COUNTRY, country)])
        return found

    def loaded(self) -> list[BreakerRecord]:
        return list(self._rows.values())

    def get(self, scope: str, key: str) -> BreakerRecord | None:
        return self._rows.get((scope, key))
