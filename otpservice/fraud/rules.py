"""The breaker's arithmetic, with no I/O: keys, settled and approved counts, trips, cooldowns.

A verification counts in the bucket (a 60th of FRAUD_WINDOW: a minute by default) it was
created in, so that a window is at most 60 rows per key whatever the traffic. A bucket is
*mature* once every verification of it is older than OTP_TTL: then all its sent
verifications are settled. Before that only the approved and the ended-unapproved ones are.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from otpservice.core.phone import parse_e164, region_of
from otpservice.db.fraud import BucketCount

PREFIX, COUNTRY = "prefix", "country"
SCOPES = (PREFIX, COUNTRY)
BUCKETS_PER_WINDOW = 60
MAX_COOLDOWN = 12 * 3600
MAX_PROBES = 3
EXEMPT_AFTER_APPROVAL = 30 * 86400
COUNTRY_SAMPLE_FACTOR = 3
_PREFIX_KEY = re.compile(r"\+[0-9]{1,15}")
_COUNTRY_KEY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class FraudRules:
    mode: str  # off | shadow | enforce
    tail_digits: int
    window: int
    cooldown: int
    min_settled: int
    min_conversion: float
    ttl: int

    @property
    def bucket_seconds(self) -> int:
        return max(self.window // BUCKETS_PER_WINDOW, 1)

    def sample(self, scope: str) -> int:
        return self.min_settled * (COUNTRY_SAMPLE_FACTOR if scope == COUNTRY else 1)

    def cooldown_for(self, trips: int) -> int:
        """FRAUD_COOLDOWN, doubled at each re-trip, at most 12 h."""
        return min(self.cooldown << max(trips - 1, 0), MAX_COOLDOWN)


@dataclass(frozen=True)
class Tally:
    settled: int
    approved: int

    @property
    def ratio(self) -> float:
        return self.approved / self.settled if self.settled else 1.0


def keys_of(number: str, tail_digits: int) -> list[tuple[str, str]]:
    """(scope, key) pairs a number counts under: its prefix and its country."""
    parsed = parse_e164(number)
    keys = [(PREFIX, number[: max(len(number) - tail_digits, 2)])]
    region = region_of(parsed) if parsed is not None else None
    if region and region != "ZZ" and region != "001":
        keys.append((COUNTRY, region))
    return keys


def valid_key(scope: str, key: str) -> bool:
    pattern = {PREFIX: _PREFIX_KEY, COUNTRY: _COUNTRY_KEY}.get(scope)
    return pattern is not None and bool(pattern.fullmatch(key))


def bucket_of(epoch: float, size: int) -> int:
    """The bucket's start, in epoch seconds."""
    return int(epoch // size) * size


def tally(buckets: Iterable[BucketCount], now: float, ttl: int, size: int) -> Tally:
    settled = approved = 0
    for count in buckets:
        mature = count.bucket + size + ttl <= now
        sent = max(count.sent, 0)
        bucket_settled = sent if mature else min(count.approved + count.ended, sent)
        settled += bucket_settled
        approved += min(count.approved, bucket_settled)
    return Tally(settled, approved)


def trips(rules: FraudRules, scope: str, counted: Tally) -> bool:
    return counted.settled >= rules.sample(scope) and counted.ratio < rules.min_conversion
