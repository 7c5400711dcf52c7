"""What the console needs of the SMS-pumping breaker (SPEC 10): a list, and three actions.

The console depends on this Protocol only. `StandInBreakers` serves until the breaker of
otpservice/fraud/ is wired in its place: it holds operator overrides and trips made by
`trip()` in memory, so that the console's pages and forms work and are tested end to end.
"""

import threading
from dataclasses import dataclass, replace
from typing import Literal, Protocol, TypeGuard

from otpservice.clock import Clock

Scope = Literal["prefix", "country"]
Action = Literal["reset", "block", "allow"]
State = Literal["open", "half_open", "blocked", "allowed"]
SCOPES: tuple[str, ...] = ("prefix", "country")
ACTIONS: tuple[str, ...] = ("reset", "block", "allow")


def is_action(value: str) -> TypeGuard[Action]:
    return value in ACTIONS


class InvalidBreakerKey(ValueError):
    """A key that is neither a number prefix (`+` and digits) nor an ISO alpha-2 country."""


@dataclass(frozen=True)
class BreakerRow:
    scope: str
    key: str
    state: str
    settled: int
    approved: int
    ratio: float | None
    threshold: float | None
    opened_at: float | None
    retry_at: float | None
    reason: str


class BreakerControl(Protocol):
    async def list_breakers(self) -> list[BreakerRow]:
        """Every breaker that is not closed."""
        ...

    async def act(self, scope: str, key: str, action: Action, ttl: float | None, note: str | None) -> None:
        """reset (close, forget counts), block (force open), allow (exempt); raises InvalidBreakerKey."""
        ...


def check_key(scope: str, key: str) -> str:
    """The key in its canonical form (country upper-case); InvalidBreakerKey otherwise."""
    if scope == "prefix" and len(key) >= 2 and key[0] == "+" and key[1:].isascii() and key[1:].isdigit():
        return key
    if scope == "country" and len(key) == 2 and key.isascii() and key.isalpha():
        return key.upper()
    raise InvalidBreakerKey(f"{scope} key {key!r}: expected a +digits prefix or an ISO alpha-2 country")


class StandInBreakers:
    """In-memory BreakerControl of one process; thread-safe so that a test can trip it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._rows: dict[tuple[str, str], BreakerRow] = {}
        self._lock = threading.Lock()

    def trip(
        self, scope: str, key: str, *, settled: int, approved: int, threshold: float, cooldown: float = 900
    ) -> None:
        """Open a breaker as the real one does when conversion falls under the threshold."""
        now = self._clock.now()
        ratio = approved / settled if settled else 0.0
        reason = f"conversion {ratio:.0%} < {threshold:.0%} over {settled} settled"
        row = BreakerRow(
            scope, check_key(scope, key), "open", settled, approved, ratio, threshold, now, now + cooldown, reason
        )
        with self._lock:
            self._rows[(row.scope, row.key)] = row

    async def list_breakers(self) -> list[BreakerRow]:
        now = self._clock.now()
        with self._lock:
            for ident, row in list(self._rows.items()):
                if row.state in ("blocked", "allowed") and row.retry_at is not None and row.retry_at <= now:
                    del self._rows[ident]  # an override whose ttl ran out
            return sorted(self._rows.values(), key=lambda row: (row.scope, row.key))

    async def act(self, scope: str, key: str, action: Action, ttl: float | None, note: str | None) -> None:
        if scope not in SCOPES:
            raise InvalidBreakerKey(f"scope {scope!r}: expected prefix or country")
        key = check_key(scope, key)
        now = self._clock.now()
        with self._lock:
            if action == "reset":
                self._rows.pop((scope, key), None)
                return
            previous = self._rows.get((scope, key))
            state = "blocked" if action == "block" else "allowed"
            reason = f"operator {action}" + (f": {note}" if note else "")
            until = now + ttl if ttl else None
            if previous is not None:
                self._rows[(scope, key)] = replace(
                    previous, state=state, reason=reason, retry_at=until, opened_at=previous.opened_at or now
                )
            else:
                self._rows[(scope, key)] = BreakerRow(scope, key, state, 0, 0, None, None, now, until, reason)
