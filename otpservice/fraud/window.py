"""One key's counts over the last FRAUD_WINDOW seconds, with totals kept as events arrive.

Counts sit in one-second buckets: `sent` (first SMS accepted, at that second), `approved`
(at the second of approval) and `early` (at the second of the send: approved while younger
than the grace, so that a country counts it before the grace is over). A start asks for the
totals of two keys; they are running sums moved along as time passes (each bucket enters
and leaves each region once), so a key busy with thousands of buckets costs the same as one
with a single bucket.

  ... expired | window start ....... aged (older than grace) ........ | young (grace) | now
"""

from bisect import bisect_left
from dataclasses import dataclass

SENT, APPROVED, EARLY = 0, 1, 2


@dataclass(frozen=True)
class Tally:
    """What a key's breaker judges: `sent` first SMS and `approved` verifications in the window."""

    sent: int
    approved: int

    @property
    def unverified(self) -> int:
        return max(self.sent - self.approved, 0)

    @property
    def ratio(self) -> float:
        return min(self.approved / self.sent, 1.0) if self.sent > 0 else 1.0


class KeyWindow:
    """The buckets of one key. `grace` 0: every send counts at once (a prefix); a country's
    sends count once older than `grace`, or once approved."""

    __slots__ = (
        "_approved",
        "_early_young",
        "_grace",
        "_lo",
        "_mid",
        "_now",
        "_sent",
        "_sent_aged",
        "_starts",
        "_values",
        "_window",
    )

    def __init__(self, window: int, grace: int) -> None:
        self._window, self._grace = window, grace
        self._now = float("-inf")
        self._clear()

    def _clear(self) -> None:
        self._starts: list[int] = []  # bucket starts, ascending; [lo:] is in the window
        self._values: dict[int, list[int]] = {}
        self._lo = 0  # first bucket in the window
        self._mid = 0  # first bucket younger than the grace
        self._sent = self._approved = 0  # over the window
        self._sent_aged = 0  # sent over [lo, mid)
        self._early_young = 0  # early over [mid, end)

    def __len__(self) -> int:
        return len(self._starts) - self._lo

    def add(self, bucket: int, now: float, sent: int = 0, approved: int = 0, early: int = 0) -> None:
        self._advance(now)
        if bucket < now - self._window:
            return
        values = self._values.get(bucket)
        if values is None:
            values = self._values[bucket] = [0, 0, 0]
            self._starts.insert(bisect_left(self._starts, bucket, self._lo), bucket)
            if self._aged(bucket):  # every bucket before an aged one is aged: it lands at or before mid
                self._mid += 1
        values[SENT] += sent
        values[APPROVED] += approved
        values[EARLY] += early
        self._sent += sent
        self._approved += approved
        if self._aged(bucket):
            self._sent_aged += sent
        else:
            self._early_young += early

    def tally(self, now: float) -> Tally:
        self._advance(now)
        if self._grace <= 0:
            return Tally(self._sent, self._approved)
        return Tally(self._sent_aged + self._early_young, self._approved)

    def discard_before(self, since: float) -> None:
        """Forget every bucket that began before `since` (a reset, an allow, a closing probe)."""
        kept = [(start, self._values[start]) for start in self._starts[self._lo :] if start >= since]
        self._clear()
        for start, (sent, approved, early) in kept:
            self.add(start, self._now, sent, approved, early)

    def _aged(self, bucket: int) -> bool:
        return bucket + self._grace <= self._now

    def _advance(self, now: float) -> None:
        if now <= self._now:
            return
        self._now = now
        starts, values = self._starts, self._values
        while self._lo < len(starts) and starts[self._lo] < now - self._window:
            gone = values.pop(starts[self._lo])
            self._sent -= gone[SENT]
            self._approved -= gone[APPROVED]
            if self._lo < self._mid:
                self._sent_aged -= gone[SENT]
            else:
                self._early_young -= gone[EARLY]
            self._lo += 1
        self._mid = max(self._mid, self._lo)
        while self._mid < len(starts) and starts[self._mid] + self._grace <= now:
            moved = values[starts[self._mid]]
            self._sent_aged += moved[SENT]
            self._early_young -= moved[EARLY]
            self._mid += 1
        if self._lo > 256 and self._lo * 2 > len(starts):  # drop the expired head now and then
            del starts[: self._lo]
            self._mid -= self._lo
            self._lo = 0
