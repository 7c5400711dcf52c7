"""FraudGuard: the breaker's decision before a start, and its counts along a verification's life.

A start is decided before anything is taken from the number's budget. Every start judges
its prefix and country on the counts as they are at that instant (in memory: this
process's exact, the other replicas' as of their last second), so the start after the one
that tipped a key is refused. Counting never fails a verification: an error there is
logged and the flow goes on.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from otpservice.clock import Clock, to_datetime
from otpservice.errors import DestinationSuspended, LimitsUnavailable
from otpservice.fraud.breakers import BreakerCache, View, refusal_seconds, view
from otpservice.fraud.counting import Counts
from otpservice.fraud.ports import CountedVerification, FraudStore, SentMessage
from otpservice.fraud.rules import (
    COUNTRY,
    EXEMPT_AFTER_APPROVAL,
    MAX_PROBES,
    PREFIX,
    FraudRules,
    bucket_of,
    keys_of,
    trips,
)
from otpservice.fraud.transitions import Transitions
from otpservice.observability import metrics

log = logging.getLogger("otpservice.fraud")

PRUNE_SECONDS = 300.0
# A trip the database did not take (open already, reset meanwhile) is not asked again for this long.
TRIP_RETRY_SECONDS = 1.0
# While no start comes in, this process's counts are still written and the others' read.
BACKGROUND_SECONDS = 0.5
TEST_NUMBER_KEY_ID = "test-number"  # verify.codes' key id of test numbers: no SMS, never counted


class FraudGuard:
    def __init__(self, store: FraudStore, rules: FraudRules, clock: Clock) -> None:
        self._store, self._rules, self._clock = store, rules, clock
        self.cache = BreakerCache(store, clock, rules.ttl, rules.window)
        self.counts = Counts(store, rules, clock)
        self.transitions = Transitions(store, rules, clock, self.cache, self.counts)  # .on_opened: the alert hook
        self._pruned_at = float("-inf")
        self._generation = 0
        self._trip_asked: dict[tuple[str, str], float] = {}

    @property
    def rules(self) -> FraudRules:
        return self._rules

    async def before_start(self, to: str) -> None:
        """Raises DestinationSuspended (or, in enforce, LimitsUnavailable) when the start must not send."""
        mode = self._rules.mode
        if mode == "off":
            return
        keys = keys_of(to, self._rules.tail_digits)
        country = _country(keys)
        try:
            await self._refresh()
            now = self._clock.now()
            await self._prune_if_due(now)
            for scope, key in keys:
                await self._judge(scope, key, now)
            views = [view(row, now, self._rules.ttl) for row in self.cache.matching(to, _iso(keys))]
            await self._decide(to, country, views, now)
        except DestinationSuspended:
            raise
        except Exception as exc:  # the state (cached copy too old), a probe slot or an exemption unreadable
            metrics.fraud_start(country, "unavailable")
            log.warning("breaker state unreadable", extra={"mode": mode, "error": type(exc).__name__})
            if mode == "enforce":
                raise LimitsUnavailable("Breaker state unavailable, retry later") from None

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: the refresh a start would do, so that an idle replica's last counts reach
        the others and a start seldom waits for a read."""
        if self._rules.mode == "off":
            return
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), BACKGROUND_SECONDS)
            try:
                await self._refresh()
            except Exception:  # the state unreadable: the next start says so (503 in enforce)
                log.debug("breaker refresh failed", exc_info=True)

    async def _refresh(self) -> None:
        """The breaker rows (every second); with each new read, the resets they carry and the
        other replicas' counts; this process's counts written when due."""
        await self.cache.rows()
        if self.cache.generation != self._generation:
            self._generation = self.cache.generation
            for row in self.cache.loaded():
                if row.counts_since is not None:
                    self.counts.discard_before(row.scope, row.key, row.counts_since.timestamp())
            try:
                await self.counts.read_remote()
            except Exception:  # the rows were read a moment ago: this is a passing fault, judged on what is known
                log.warning("breaker counts of other replicas unreadable", exc_info=True)
        await self.counts.flush_if_due()

    async def _judge(self, scope: str, key: str, now: float) -> None:
        """Trip a closed key whose counts say so (SPEC 18)."""
        row = self.cache.get(scope, key)
        if row is not None and view(row, now, self._rules.ttl).state != "closed":
            return  # open, half-open (probes decide) or overridden
        counted = self.counts.tally(scope, key, now)
        if not trips(self._rules, scope, counted):
            return
        if now - self._trip_asked.get((scope, key), float("-inf")) < TRIP_RETRY_SECONDS:
            return
        self._trip_asked[(scope, key)] = now
        if len(self._trip_asked) > 10_000:
            self._trip_asked = {name: at for name, at in self._trip_asked.items() if now - at < TRIP_RETRY_SECONDS}
        await self.transitions.trip(scope, key, counted, now)

    def override_applied(self, scope: str, key: str, action: str, at: float) -> None:
        """An operator's reset / block / allow, in this process at once: a reset or an allow
        discards every count of the key before it, written or not."""
        if action in ("reset", "allow"):
            self.counts.discard_before(scope, key, at)
        self._trip_asked.pop((scope, key), None)
        self.cache.invalidate()

    async def _decide(self, to: str, country: str, views: list[View], now: float) -> None:
        if any(item.state == "allowed" for item in views):
            metrics.fraud_start(country, "allowed")
            return
        refusing = [item for item in views if item.state in ("open", "blocked")]
        half_open = [item for item in views if item.state == "half_open"]
        for item in half_open:
            if item.row.probes >= MAX_PROBES:
                refusing.append(await self.transitions.reopen_if_probes_aged(item, now))
        if not refusing and not half_open:
            metrics.fraud_start(country, "pass")
            return
        if await self._store.approved_since(to, to_datetime(now - EXEMPT_AFTER_APPROVAL)):
            worst = max(refusing or half_open, key=lambda item: refusal_seconds(item, now))
            self.transitions.log_decision(worst, "exempt")
            metrics.fraud_start(country, "exempt")
            return
        if not refusing:
            taken = [
                await self._store.take_probe(item.row.scope, item.row.key, to_datetime(now), MAX_PROBES)
                for item in half_open
                if item.row.probes < MAX_PROBES
            ]
            if taken and all(taken):
                self.cache.invalidate()
                for item in half_open:
                    if item.row.probes == 0:
                        metrics.fraud_transition(item.row.scope, "open", "half_open")
                    self.transitions.log_decision(item, "probe")
                metrics.fraud_start(country, "probe")
                return
            refusing = half_open
        # Operator blocks act in shadow too; the breakers' own refusals only in enforce.
        enforceable = (
            refusing if self._rules.mode == "enforce" else [item for item in refusing if item.state == "blocked"]
        )
        enforced = bool(enforceable)
        worst = max(enforceable or refusing, key=lambda item: refusal_seconds(item, now))
        decision = "refuse" if enforced else "would_refuse"
        self.transitions.log_decision(worst, decision)
        metrics.fraud_start(country, decision)
        metrics.fraud_refusal(country, worst.row.scope, decision)
        if enforced:
            raise DestinationSuspended(
                scope=worst.row.scope, key=worst.row.key, retry_after=refusal_seconds(worst, now)
            )

    async def _prune_if_due(self, now: float) -> None:
        """Buckets older than two windows are never read again."""
        if now - self._pruned_at < PRUNE_SECONDS:
            return
        self._pruned_at = now
        self.counts.prune(now)
        try:
            await self._store.prune(bucket_of(now - 2 * self._rules.window))
        except Exception:
            log.warning("breaker count pruning failed", exc_info=True)

    # --- counts along the verification's life ------------------------------------
    async def sent(self, verification: CountedVerification) -> None:
        """The provider accepted the verification's first SMS: it now counts."""
        await self._count(verification, "sent")

    async def delivered(self, message: SentMessage) -> None:
        """The outbox worker sent a queued message: count it if it was a verification's first SMS."""
        if self._rules.mode == "off" or message.kind != "otp" or message.verification_id is None:
            return
        try:
            found = await self._store.verification(message.verification_id)
        except Exception:
            log.exception("breaker counting failed", extra={"event": "delivered"})
            return
        if found is not None and found.send_attempts == 1 and found.last_message_id == message.id:
            await self._count(found, "sent")

    async def settled(self, verification: CountedVerification, outcome: str) -> None:
        """outcome: approved | ended (canceled, attempts spent) | expired | failed (after being counted)."""
        await self._count(verification, outcome)

    async def _count(self, verification: CountedVerification, event: str) -> None:
        # Every phone channel (sms, whatsapp, call) counts alike; an email address is no number.
        if self._rules.mode == "off" or verification.key_id == TEST_NUMBER_KEY_ID or verification.channel == "email":
            return
        try:
            now = self._clock.now()
            keys = keys_of(verification.to, self._rules.tail_digits)
            created = verification.created_at.timestamp()
            for scope, key in keys:
                if event == "sent":
                    self.counts.add(scope, key, bucket_of(now), sent=1)
                elif event == "approved":
                    self.counts.add(scope, key, bucket_of(now), approved=1)
                    if scope != PREFIX and now - created < self._rules.grace:  # counts before its grace is over
                        self.counts.add(scope, key, bucket_of(created), early=1)
                elif event == "failed":  # counted as sent, then not delivered after all
                    self.counts.add(scope, key, bucket_of(now), sent=-1)
            await self.counts.flush_if_due()
            if event == "sent":
                metrics.fraud_sent(_country(keys))
            elif event == "approved":
                metrics.fraud_approved(_country(keys))
            if event in ("approved", "ended", "expired"):
                await self.transitions.settle_probes(keys, verification.created_at, approved=event == "approved")
        except Exception:
            log.exception("breaker counting failed", extra={"event": event})


def _iso(keys: Sequence[tuple[str, str]]) -> str | None:
    return next((key for scope, key in keys if scope == COUNTRY), None)


def _country(keys: Sequence[tuple[str, str]]) -> str:
    return _iso(keys) or "unknown"
