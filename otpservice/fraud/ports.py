"""What fraud/ needs from storage, as Protocols: db/fraud.py satisfies them structurally (its
rows are the records) and wiring hands it in; fraud/ imports nothing from db/. No SQL here.

Every state change is one conditional statement in the store, so that replicas racing on one
breaker make one transition (a trip opens only a closed breaker whose counts were not
discarded after the ones judged; a re-open follows the trip count it read).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

CLOSED, OPEN = "closed", "open"


class BreakerRecord(Protocol):
    """A breaker that is, or was, not closed: its state, cooldown, probes and operator override."""

    @property
    def scope(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def state(self) -> str: ...  # closed | open
    @property
    def trips(self) -> int: ...
    @property
    def opened_at(self) -> datetime | None: ...
    @property
    def retry_at(self) -> datetime | None: ...
    @property
    def probes(self) -> int: ...
    @property
    def probe_failures(self) -> int: ...
    @property
    def last_probe_at(self) -> datetime | None: ...
    @property
    def settled(self) -> int: ...  # holds `sent` at the trip (SPEC 24)
    @property
    def approved(self) -> int: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def override(self) -> str | None: ...  # block | allow
    @property
    def override_until(self) -> datetime | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def counts_since(self) -> datetime | None: ...


class TallyRecord(Protocol):
    """One replica's counts of one key in one second (or, summed, in a group of seconds)."""

    @property
    def replica(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def bucket(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def approved(self) -> int: ...
    @property
    def early(self) -> int: ...


class CountedVerification(Protocol):
    """What the breaker reads of a verification it counts."""

    @property
    def id(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def send_attempts(self) -> int: ...
    @property
    def last_message_id(self) -> str | None: ...


class SentMessage(Protocol):
    """What the breaker reads of a message the outbox sent."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def verification_id(self) -> str | None: ...


class FraudStore(Protocol):
    async def add_many(
        self, replica: str, written_at: float, rows: list[tuple[str, str, int, int, int, int]]
    ) -> None: ...
    async def tallies(
        self, first_bucket: int, written_since: float | None, not_replica: str
    ) -> Sequence[TallyRecord]: ...
    async def tally_summary(
        self, first_bucket: int, before_bucket: int, group_seconds: int, not_replica: str
    ) -> Sequence[TallyRecord]: ...
    async def prune(self, before_bucket: int) -> int: ...
    async def active(self, closed_since: datetime) -> Sequence[BreakerRecord]: ...
    async def trip(
        self,
        scope: str,
        key: str,
        now: datetime,
        retry_at: datetime,
        *,
        counted_since: datetime,
        settled: int,
        approved: int,
        reason: str,
    ) -> bool: ...
    async def take_probe(self, scope: str, key: str, now: datetime, max_probes: int) -> bool: ...
    async def close_after_probe(self, scope: str, key: str, now: datetime) -> bool: ...
    async def probe_failed(self, scope: str, key: str, now: datetime) -> BreakerRecord | None: ...
    async def reopen(self, scope: str, key: str, now: datetime, retry_at: datetime, trips_seen: int) -> bool: ...
    async def set_override(
        self,
        scope: str,
        key: str,
        now: datetime,
        *,
        override: str | None,
        until: datetime | None,
        note: str | None,
        reset: bool = False,
    ) -> None: ...
    async def approved_since(self, to: str, since: datetime) -> bool: ...
    async def verification(self, verification_id: str) -> CountedVerification | None: ...
