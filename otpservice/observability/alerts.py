"""Signed alert webhooks (SPEC 17): budget thresholds, exhausted budgets, opened breakers.

`emit` never waits: it logs the alert and queues it. A background task keeps it in the
database (pending_alerts, so that a restart loses none), POSTs it to ALERT_WEBHOOK_URL with
`X-Otpservice-Signature: sha256=<HMAC-SHA256 of the raw body>`, and retries what the
receiver does not take with a 2xx, with backoff, for up to an hour from the alert.
"""

import asyncio
import hashlib
import heapq
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import httpx

from otpservice.clock import Clock, iso, to_datetime
from otpservice.db.alerts import AlertStore
from otpservice.db.models import PendingAlert
from otpservice.observability import metrics

log = logging.getLogger("otpservice.alerts")
T = TypeVar("T")

SIGNATURE_HEADER = "X-Otpservice-Signature"
RETRY_FOR_SECONDS = 3600.0
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0
MAX_PENDING = 10_000
# A process renews its alerts' lease at each attempt (attempts come at most 5 min apart, and
# each takes at most the alert client's timeout); past it, another process takes them over.
LEASE_MARGIN_SECONDS = 60.0
TAKEOVER_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class Alert:
    event: str  # budget_threshold | budget_exhausted | breaker_opened
    scope: str
    key: str
    used: int
    limit: int
    window: str
    at: float
    details: dict[str, object] = field(default_factory=dict)  # e.g. a breaker's counts

    def body(self) -> bytes:
        fields = {**asdict(self), "at": iso(self.at)}
        fields.pop("details")
        return json.dumps({**fields, **self.details}, separators=(",", ":")).encode()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Pending:
    id: str
    event: str
    body: bytes
    at: float


class AlertSender:
    """`store`: where alerts wait for their receiver (pending_alerts), so that a restart loses
    none; a process holds its alerts by a lease renewed at each attempt, and takes over the
    ones a stopped process left. Without a store (or while the database fails) they wait in
    memory only."""

    def __init__(
        self,
        url: str | None,
        secret: str | None,
        http: httpx.AsyncClient,
        clock: Clock,
        store: AlertStore | None = None,
    ) -> None:
        self._url, self._secret, self._http, self._clock = url, secret or "", http, clock
        self._store = store
        self._due: list[tuple[float, int, int, _Pending]] = []  # (next try, order, attempts made, alert)
        self._unsaved: list[_Pending] = []
        self._order = 0
        self._next_takeover = 0.0
        self._wake = asyncio.Event()

    def emit(self, alert: Alert) -> None:
        log.warning(
            "alert %s",
            alert.event,
            extra={
                "event": alert.event,
                "scope": alert.scope,
                "key": alert.key,
                "used": alert.used,
                "limit": alert.limit,
                "window": alert.window,
            },
        )
        metrics.alert_emitted(alert.event)
        if not self._url:
            return
        if len(self._due) >= MAX_PENDING:
            log.error("alert queue full: alert kept in this log only", extra={"event": alert.event})
            return
        pending = _Pending("AL" + uuid.uuid4().hex, alert.event, alert.body(), alert.at)
        self._unsaved.append(pending)  # written by the run loop: emit never waits
        self._push(self._clock.now(), 0, pending)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._save_new()
            now = self._clock.now()
            if self._url and self._store is not None and now >= self._next_takeover:
                self._next_takeover = now + TAKEOVER_EVERY_SECONDS
                await self._take_over(now)
            if self._due and self._due[0][0] <= now:
                _, _, attempts, pending = heapq.heappop(self._due)
                await self._deliver(pending, attempts + 1)
                continue
            wait = min(self._due[0][0] - now, 1.0) if self._due else 1.0
            self._wake.clear()
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending_waiters = await asyncio.wait(
                waiters, timeout=max(wait, 0.01), return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending_waiters:
                waiter.cancel()
        await self._save_new()
        await self._stored(
            "hand over",
            self._store.release if self._store else None,
            [entry[3].id for entry in self._due],
            to_datetime(self._clock.now()),
        )

    async def _deliver(self, pending: _Pending, attempts: int) -> None:
        try:
            answer = await self._http.post(
                self._url or "",
                content=pending.body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(pending.body, self._secret)},
            )
            delivered = 200 <= answer.status_code < 300
        except httpx.HTTPError:
            delivered = False
        if delivered:
            metrics.alert_delivery("delivered")
            await self._stored("forget", self._store.remove if self._store else None, pending.id)
            return
        next_try = self._clock.now() + min(FIRST_BACKOFF_SECONDS * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
        if next_try - pending.at > RETRY_FOR_SECONDS:
            metrics.alert_delivery("given_up")
            log.error(
                "alert not delivered within an hour: given up", extra={"event": pending.event, "attempts": attempts}
            )
            await self._stored("forget", self._store.remove if self._store else None, pending.id)
            return
        metrics.alert_delivery("retried")
        lease = to_datetime(next_try + LEASE_MARGIN_SECONDS)
        await self._stored(
            "reschedule",
            self._store.reschedule if self._store else None,
            pending.id,
            attempts,
            to_datetime(next_try),
            lease,
        )
        self._push(next_try, attempts, pending)

    async def _save_new(self) -> None:
        while self._unsaved and self._store is not None:
            pending = self._unsaved.pop(0)
            row = PendingAlert(
                id=pending.id,
                event=pending.event,
                body=pending.body.decode(),
                created_at=to_datetime(pending.at),
                attempts=0,
                next_attempt_at=to_datetime(pending.at),
                lease_until=to_datetime(self._clock.now() + LEASE_MARGIN_SECONDS),
            )
            await self._stored("keep", self._store.add, row)

    async def _take_over(self, now: float) -> None:
        """Alerts of a process that stopped (its leases ran out, or it handed them over)."""
        assert self._store is not None
        lease = to_datetime(now + LEASE_MARGIN_SECONDS)
        taken = await self._stored("take over", self._store.take_abandoned, to_datetime(now), lease)
        for row in taken or []:
            if now - row.created_at.timestamp() > RETRY_FOR_SECONDS:
                metrics.alert_delivery("given_up")
                log.error("alert of a stopped process older than an hour: given up", extra={"event": row.event})
                await self._stored("forget", self._store.remove, row.id)
                continue
            pending = _Pending(row.id, row.event, row.body.encode(), row.created_at.timestamp())
            self._push(max(now, row.next_attempt_at.timestamp()), row.attempts, pending)
            log.info("alert taken over from a stopped process", extra={"event": row.event})

    async def _stored(self, what: str, call: Callable[..., Awaitable[T]] | None, *args: Any) -> T | None:
        """A store call that may fail: the alert then lives on in memory, as it would without a store."""
        if call is None:
            return None
        try:
            return await call(*args)
        except Exception:
            log.warning("alert store unavailable: %s skipped, the alert stays in memory", what, exc_info=True)
            return None

    def _push(self, when: float, attempts: int, pending: _Pending) -> None:
        self._order += 1
        heapq.heappush(self._due, (when, self._order, attempts, pending))
        self._wake.set()
