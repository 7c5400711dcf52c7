"""Operator control of the breakers: list the ones not closed; reset, block or allow a key.

Shared by the admin API, the console and the command line. Every override is logged; it
holds at once in the process that applied it (`on_applied`: the guard of that process) and
on the other replicas within 2 s (their cached state is read again every second).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from otpservice.clock import Clock, iso, to_datetime
from otpservice.errors import InvalidRequest
from otpservice.fraud.breakers import view
from otpservice.fraud.ports import FraudStore
from otpservice.fraud.rules import FraudRules, valid_key

log = logging.getLogger("otpservice.fraud")

ACTIONS = ("reset", "block", "allow")
MAX_NOTE = 200


@dataclass(frozen=True)
class BreakerSummary:
    scope: str
    key: str
    state: str  # open | half_open | blocked | allowed
    settled: int
    approved: int
    ratio: float | None
    threshold: float
    opened_at: float | None
    retry_at: float | None  # None: until reset
    reason: str


@dataclass(frozen=True)
class Override:
    action: str
    ttl: int | None = None
    note: str | None = None


class BreakerOperator:
    def __init__(
        self,
        store: FraudStore,
        rules: FraudRules,
        clock: Clock,
        on_applied: Callable[[str, str, str, float], None] | None = None,
    ) -> None:
        self._store, self._rules, self._clock = store, rules, clock
        self._on_applied = on_applied  # (scope, key, action, at)

    async def list_breakers(self) -> list[BreakerSummary]:
        """Every breaker that is not closed (the shape the operator console reads)."""
        now = self._clock.now()
        listed = []
        for row in sorted(await self._store.active(to_datetime(now)), key=lambda row: (row.scope, row.key)):
            seen = view(row, now, self._rules.ttl)
            if seen.state == "closed":
                continue
            ratio = round(row.approved / row.settled, 4) if row.settled else None
            override = seen.state in ("blocked", "allowed")
            listed.append(
                BreakerSummary(
                    scope=row.scope,
                    key=row.key,
                    state=seen.state,
                    settled=row.settled,
                    approved=row.approved,
                    ratio=ratio,
                    threshold=self._rules.min_conversion,
                    opened_at=row.opened_at.timestamp() if row.opened_at and row.state == "open" else None,
                    retry_at=seen.retry_at,
                    reason=(row.note if override and row.note else row.reason) or "",
                )
            )
        return listed

    async def list(self) -> list[dict[str, Any]]:
        """The same, as the admin API and the command line render it."""
        return [
            {
                "scope": item.scope,
                "key": item.key,
                "state": item.state,
                "settled": item.settled,
                "approved": item.approved,
                "ratio": item.ratio,
                "threshold": item.threshold,
                "openedAt": iso(item.opened_at) if item.opened_at is not None else None,
                "retryAt": iso(item.retry_at) if item.retry_at is not None else None,
                "reason": item.reason or None,
            }
            for item in await self.list_breakers()
        ]

    async def act(
        self, scope: str, key: str, action: str, ttl: float | None, note: str | None, *, actor: str = "console"
    ) -> None:
        """reset / block / allow (the console's call); raises InvalidRequest for a bad key."""
        await self.apply(scope, key, Override(action, int(ttl) if ttl is not None else None, note), actor=actor)

    async def apply(self, scope: str, key: str, override: Override, *, actor: str) -> None:
        """Raises InvalidRequest for an unknown scope, a malformed key, action, ttl or note."""
        key = canonical_key(scope, key)
        check_override(scope, key, override)
        now = self._clock.now()
        until = to_datetime(now + override.ttl) if override.ttl is not None else None
        if override.action == "reset":
            await self._store.set_override(
                scope, key, to_datetime(now), override=None, until=None, note=override.note, reset=True
            )
        else:
            await self._store.set_override(
                scope, key, to_datetime(now), override=override.action, until=until, note=override.note
            )
        if self._on_applied is not None:
            self._on_applied(scope, key, override.action, now)
        log.warning(
            "breaker override",
            extra={
                "scope": scope,
                "key": key,
                "action": override.action,
                "ttl": override.ttl,
                "note": override.note,
                "actor": actor,
                "mode": self._rules.mode,
                "_clear": ("key",),
            },
        )


def canonical_key(scope: str, key: str) -> str:
    """A country key in upper case (`gb` -> `GB`), as the console writes it; others as given."""
    return key.upper() if scope == "country" and key.isascii() else key


def check_override(scope: str, key: str, override: Override) -> None:
    if not valid_key(scope, key):
        raise InvalidRequest("scope must be 'prefix' (key '+' and digits) or 'country' (key ISO alpha-2)")
    if override.action not in ACTIONS:
        raise InvalidRequest("action must be one of reset, block, allow")
    if override.ttl is not None and not 0 < override.ttl <= 365 * 86400:
        raise InvalidRequest("ttl must be a positive number of seconds (at most a year)")
    if override.note is not None and len(override.note) > MAX_NOTE:
        raise InvalidRequest(f"note must be at most {MAX_NOTE} characters")
