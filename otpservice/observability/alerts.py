"""Signed alert webhooks (SPEC 17): budget thresholds, exhausted budgets, opened breakers.

`emit` never waits: it logs the alert and queues it. A background task POSTs it to
ALERT_WEBHOOK_URL with `X-Otpservice-Signature: sha256=<HMAC-SHA256 of the raw body>`,
and retries what the receiver does not take with a 2xx, with backoff, for up to an hour.
"""

import asyncio
import hashlib
import heapq
import hmac
import json
import logging
import math
from dataclasses import asdict, dataclass, field

import httpx

from otpservice.clock import Clock, iso
from otpservice.observability import metrics

log = logging.getLogger("otpservice.alerts")

SIGNATURE_HEADER = "X-Otpservice-Signature"
RETRY_FOR_SECONDS = 3600.0
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0
MAX_PENDING = 10_000
THRESHOLD_SHARE = 0.8


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


class AlertSender:
    def __init__(self, url: str | None, secret: str | None, http: httpx.AsyncClient, clock: Clock) -> None:
        self._url, self._secret, self._http, self._clock = url, secret or "", http, clock
        self._due: list[tuple[float, int, int, Alert]] = []  # (next try, order, attempts made, alert)
        self._order = 0
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
        self._push(self._clock.now(), 0, alert)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = self._clock.now()
            if self._due and self._due[0][0] <= now:
                _, _, attempts, alert = heapq.heappop(self._due)
                await self._deliver(alert, attempts + 1)
                continue
            wait = min(self._due[0][0] - now, 1.0) if self._due else 1.0
            self._wake.clear()
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(waiters, timeout=max(wait, 0.01), return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()

    async def _deliver(self, alert: Alert, attempts: int) -> None:
        body = alert.body()
        try:
            answer = await self._http.post(
                self._url or "",
                content=body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self._secret)},
            )
            delivered = 200 <= answer.status_code < 300
        except httpx.HTTPError:
            delivered = False
        if delivered:
            metrics.alert_delivery("delivered")
            return
        next_try = self._clock.now() + min(FIRST_BACKOFF_SECONDS * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
        if next_try - alert.at > RETRY_FOR_SECONDS:
            metrics.alert_delivery("given_up")
            log.error(
                "alert not delivered within an hour: given up", extra={"event": alert.event, "attempts": attempts}
            )
            return
        metrics.alert_delivery("retried")
        self._push(next_try, attempts, alert)

    def _push(self, when: float, attempts: int, alert: Alert) -> None:
        self._order += 1
        heapq.heappush(self._due, (when, self._order, attempts, alert))
        self._wake.set()


class BudgetAlerts:
    """What the send budget reports about spend budgets: gauges, and alerts once per window."""

    def __init__(self, sender: AlertSender, clock: Clock) -> None:
        self._sender, self._clock = sender, clock

    def threshold_of(self, limit: int) -> int:
        return max(1, math.ceil(limit * THRESHOLD_SHARE))

    def used(self, scope: str, key: str, window: str, used: int, limit: int) -> None:
        metrics.budget_use(scope, key, window, used, limit)

    def crossed(self, event: str, scope: str, key: str, window: str, used: int, limit: int) -> None:
        self._sender.emit(Alert(event, scope, key, used, limit, window, self._clock.now()))
