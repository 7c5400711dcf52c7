"""The breaker's arithmetic, with no I/O: keys, samples, trips, cooldowns (SPEC 18).

A key is judged on its unverified sends over the last FRAUD_WINDOW seconds: first SMS
counted when the provider accepted them, approvals when they happen (fraud/window.py). A
prefix trips once FRAUD_MIN_SETTLED of them are unverified at a conversion under
FRAUD_MIN_CONVERSION; a country needs three times that, and counts a send only once it is
approved or FRAUD_GRACE seconds old, so that a launch is judged on users who had time to type.
"""

import functools
import re
from dataclasses import dataclass

from otpservice.core.phone import parse_e164, region_of
from otpservice.fraud.window import Tally

PREFIX, COUNTRY = "prefix", "country"
SCOPES = (PREFIX, COUNTRY)
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
    grace: int = 30

    def grace_for(self, scope: str) -> int:
        """Seconds before a send counts without its approval: FRAUD_GRACE for a country, none for a prefix."""
        return self.grace if scope == COUNTRY else 0

    def sample(self, scope: str) -> int:
        return self.min_settled * (COUNTRY_SAMPLE_FACTOR if scope == COUNTRY else 1)

    def cooldown_for(self, trips: int) -> int:
        """FRAUD_COOLDOWN, doubled at each re-trip, at most 12 h."""
        return min(self.cooldown << max(trips - 1, 0), MAX_COOLDOWN)


@functools.lru_cache(maxsize=65536)  # asked for at a start and again when its SMS is sent
def keys_of(number: str, tail_digits: int) -> tuple[tuple[str, str], ...]:
    """(scope, key) pairs a number counts under: its prefix and its country."""
    parsed = parse_e164(number)
    prefix = (PREFIX, number[: max(len(number) - tail_digits, 2)])
    region = region_of(parsed) if parsed is not None else None
    if region and region != "ZZ" and region != "001":
        return (prefix, (COUNTRY, region))
    return (prefix,)


def valid_key(scope: str, key: str) -> bool:
    pattern = {PREFIX: _PREFIX_KEY, COUNTRY: _COUNTRY_KEY}.get(scope)
    return pattern is not None and bool(pattern.fullmatch(key))


def bucket_of(epoch: float) -> int:
    """The one-second bucket an event at `epoch` counts in."""
    return int(epoch)


def trips(rules: FraudRules, scope: str, counted: Tally) -> bool:
    return counted.unverified >= rules.sample(scope) and counted.ratio < rules.min_conversion
