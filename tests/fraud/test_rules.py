"""The breaker's arithmetic: keys, maturity of buckets, trips."""

import pytest

from otpservice.db.fraud import BucketCount
from otpservice.fraud.rules import FraudRules, Tally, bucket_of, keys_of, tally, trips, valid_key
from tests.fraud.helpers import RULES


def test_a_number_counts_under_its_prefix_and_its_country() -> None:
    assert keys_of("+393331234567", 4) == [("prefix", "+39333123"), ("country", "IT")]
    assert keys_of("+14155552671", 3) == [("prefix", "+14155552"), ("country", "US")]


def test_a_bucket_settles_everything_it_sent_only_once_older_than_the_ttl() -> None:
    size = RULES.bucket_seconds
    assert size == 60 and bucket_of(1_000_000_030, size) == 1_000_000_020
    young = BucketCount(bucket=1000, sent=10, approved=2, ended=3)
    assert tally([young], now=1000 + 60 + 599, ttl=600, size=size) == Tally(settled=5, approved=2)
    assert tally([young], now=1000 + 60 + 600, ttl=600, size=size) == Tally(settled=10, approved=2)
    # A count that went below zero (a failure after an unseen send) or approvals without sends never
    # make a ratio above 1.
    odd = BucketCount(bucket=0, sent=-1, approved=3, ended=0)
    assert tally([odd], now=10_000, ttl=600, size=size) == Tally(settled=0, approved=0)


@pytest.mark.parametrize(
    ("scope", "settled", "approved", "tripped"),
    [
        ("prefix", 19, 0, False),
        ("prefix", 20, 3, True),
        ("prefix", 20, 4, False),
        ("country", 59, 0, False),
        ("country", 60, 11, True),
        ("country", 60, 12, False),
    ],
)
def test_the_sample_and_the_threshold(scope: str, settled: int, approved: int, tripped: bool) -> None:
    assert trips(RULES, scope, Tally(settled, approved)) is tripped


def test_buckets_are_a_sixtieth_of_the_window() -> None:
    assert (
        FraudRules(
            mode="enforce", tail_digits=4, window=60, cooldown=1, min_settled=1, min_conversion=0.2, ttl=1
        ).bucket_seconds
        == 1
    )


@pytest.mark.parametrize(
    ("scope", "key", "valid"),
    [
        ("prefix", "+4474001", True),
        ("prefix", "+4", True),
        ("prefix", "4474", False),
        ("prefix", "+", False),
        ("country", "GB", True),
        ("country", "gb", False),
        ("country", "GBR", False),
        ("range", "+44", False),
    ],
)
def test_keys(scope: str, key: str, valid: bool) -> None:
    assert valid_key(scope, key) is valid
