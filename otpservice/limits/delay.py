"""The per-number exponential delay rule (its state lives in the send budget's store).

1st send free, then `base`, 2x, 4x ... up to `cap` between consecutive sends. The count
starts again after `reset_after` seconds with no send, counted from the instant the next
send became allowed, so that the waits really grow to the cap (1, 2, 4 ... 256, 300, 300 s
with the defaults) and a number left alone for delay + reset starts again at 0.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class DelayPolicy:
    base: float
    cap: float
    reset_after: float

    def wait_after(self, sends: int) -> float:
        """Seconds required after the last of `sends` consecutive sends."""
        if sends <= 0:
            return 0.0
        return min(self.base * 2.0 ** min(sends - 1, 60), self.cap)

    def decide(self, sends: int, last: float, now: float) -> tuple[float | None, int]:
        """(seconds still to wait, or None when a send is allowed now; the count before it)."""
        if sends <= 0:
            return None, 0
        allowed_at = last + self.wait_after(sends)
        if now < allowed_at:
            return allowed_at - now, sends
        if now >= allowed_at + self.reset_after:
            return None, 0
        return None, sends

    @property
    def state_ttl(self) -> float:
        """How long a number's state matters after its last send."""
        return self.cap + self.reset_after
