"""The breaker's state changes: trips, half-open probes closing or re-opening, and the
decision log line (one per trip, refusal or would-be refusal, with the counts that explain it).

Every change is a conditional write (db/fraud.py), so that replicas racing on one breaker
make one transition; the local cache is read again at once, the other replicas' within 2 s.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from otpservice.clock import Clock, iso, to_datetime
from otpservice.fraud.breakers import BreakerCache, View
from otpservice.fraud.counting import Counts
from otpservice.fraud.ports import BreakerRecord, FraudStore
from otpservice.fraud.rules import MAX_PROBES, FraudRules
from otpservice.fraud.window import Tally
from otpservice.observability import metrics
from otpservice.observability.alerts import Alert

log = logging.getLogger("otpservice.fraud")


@dataclass(frozen=True)
class Opened:
    """A breaker that opened (a trip, or a re-open after its probes), for an alert hook."""

    scope: str
    key: str
    settled: int
    approved: int
    threshold: float
    window: int
    retry_at: float
    at: float

    def alert(self) -> Alert:
        """`breaker_opened` (SPEC 17): `used` is the sent count that tripped it (`settled` holds
        sent since SPEC 18); the breaker's counts and ratio ride along."""
        ratio = self.approved / self.settled if self.settled else 0.0
        return Alert(
            "breaker_opened",
            self.scope,
            self.key,
            self.settled,
            self.settled,
            f"{self.window}s",
            self.at,
            {
                "approved": self.approved,
                "settled": self.settled,
                "ratio": round(ratio, 4),
                "threshold": self.threshold,
                "retryAt": iso(self.retry_at),
            },
        )


class Transitions:
    def __init__(self, store: FraudStore, rules: FraudRules, clock: Clock, cache: BreakerCache, counts: Counts) -> None:
        self._store, self._rules, self._clock, self.cache, self._counts = store, rules, clock, cache, counts
        # Called (never awaited, never failing a start) when a breaker opens: e.g. SPEC 17's alert.
        self.on_opened: Callable[[Opened], None] | None = None

    async def reopen_if_probes_aged(self, item: View, now: float) -> View:
        """Three probes out and none approved within OTP_TTL: open again, for longer."""
        row = item.row
        if row.last_probe_at is not None and row.last_probe_at.timestamp() + self._rules.ttl <= now:
            await self._reopen(row, now)
            return View(row, "open", now + self._rules.cooldown_for(row.trips + 1))
        return item

    async def trip(self, scope: str, key: str, counted: Tally, now: float) -> bool:
        """Open the key's breaker on the counts that tripped it (False: open already, or reset since)."""
        since = max(self._counts.since(scope, key) or float("-inf"), now - self._rules.window)
        reason = (
            f"{counted.unverified} unverified of {counted.sent} sent in {self._rules.window} s: "
            f"conversion {counted.ratio:.2f} < {self._rules.min_conversion}"
        )
        opened = await self._store.trip(
            scope,
            key,
            to_datetime(now),
            to_datetime(now + self._rules.cooldown),
            counted_since=to_datetime(since),
            settled=counted.sent,
            approved=counted.approved,
            reason=reason,
        )
        if opened:
            metrics.fraud_transition(scope, "closed", "open")
            self._opened(
                Opened(
                    scope,
                    key,
                    counted.sent,
                    counted.approved,
                    self._rules.min_conversion,
                    self._rules.window,
                    now + self._rules.cooldown,
                    now,
                )
            )
            self._log(scope, key, "trip", counted.sent, counted.approved)
            self.cache.invalidate()
            await self.cache.rows()
        return opened

    async def settle_probes(self, keys: Sequence[tuple[str, str]], created_at: datetime, *, approved: bool) -> None:
        now = self._clock.now()
        for scope, key in keys:
            row = self.cache.get(scope, key)
            if row is None or row.state != "open" or row.retry_at is None or created_at < row.retry_at:
                continue
            if approved:
                if await self._store.close_after_probe(scope, key, to_datetime(now)):
                    self._counts.discard_before(scope, key, now)
                    metrics.fraud_transition(scope, "half_open", "closed")
                    self._log(scope, key, "close", row.settled, row.approved)
            else:
                failed = await self._store.probe_failed(scope, key, to_datetime(now))
                if failed is not None and failed.probe_failures >= MAX_PROBES:
                    await self._reopen(failed, now)
            self.cache.invalidate()

    async def _reopen(self, row: BreakerRecord, now: float) -> None:
        retry_at = now + self._rules.cooldown_for(row.trips + 1)
        if await self._store.reopen(row.scope, row.key, to_datetime(now), to_datetime(retry_at), row.trips):
            metrics.fraud_transition(row.scope, "half_open", "open")
            self._opened(
                Opened(
                    row.scope,
                    row.key,
                    row.settled,
                    row.approved,
                    self._rules.min_conversion,
                    self._rules.window,
                    retry_at,
                    now,
                )
            )
            self._log(row.scope, row.key, "reopen", row.settled, row.approved)
            self.cache.invalidate()

    def log_decision(self, item: View, decision: str) -> None:
        self._log(item.row.scope, item.row.key, decision, item.row.settled, item.row.approved, item.state)

    def _log(self, scope: str, key: str, decision: str, sent: int, approved: int, state: str | None = None) -> None:
        ratio = round(approved / sent, 4) if sent else None
        log.warning(
            "breaker decision",
            extra={
                "scope": scope,
                "key": key,
                "decision": decision,
                "mode": self._rules.mode,
                "settled": sent,  # SPEC 24: `settled` holds sent
                "unverified": max(sent - approved, 0),
                "approved": approved,
                "ratio": ratio,
                "threshold": self._rules.min_conversion,
                "window": self._rules.window,
                "state": state,
                "_clear": ("key",),
            },
        )

    def _opened(self, opened: Opened) -> None:
        if self.on_opened is None:
            return
        try:
            self.on_opened(opened)
        except Exception:
            log.exception("breaker open hook failed")
