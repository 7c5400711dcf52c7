"""The breaker's arithmetic: keys, the window of counts, the country's grace, trips."""

import random

import pytest

from otpservice.fraud.rules import keys_of, trips, valid_key
from otpservice.fraud.window import KeyWindow, Tally
from tests.fraud.helpers import RULES

T0 = 1_800_000_000


def test_a_number_counts_under_its_prefix_and_its_country() -> None:
    assert keys_of("+393331234567", 4) == (("prefix", "+39333123"), ("country", "IT"))
    assert keys_of("+14155552671", 3) == (("prefix", "+14155552"), ("country", "US"))


def test_a_prefix_counts_a_send_from_its_first_second_and_forgets_it_after_the_window() -> None:
    window = KeyWindow(window=3600, grace=0)
    window.add(T0, T0, sent=1)
    assert window.tally(T0) == Tally(sent=1, approved=0)
    window.add(T0 + 40, T0 + 40, approved=1)  # approved 40 s later, counted at that second
    assert window.tally(T0 + 3600) == Tally(sent=1, approved=1)
    assert window.tally(T0 + 3601) == Tally(sent=0, approved=1)  # the send left the window first
    assert window.tally(T0 + 3641) == Tally(sent=0, approved=0)
    assert len(window) == 0


def test_a_country_counts_a_send_once_approved_or_once_its_grace_is_over() -> None:
    window = KeyWindow(window=3600, grace=30)
    window.add(T0, T0, sent=1)
    window.add(T0, T0, sent=1)
    assert window.tally(T0 + 29) == Tally(sent=0, approved=0)  # neither counted yet
    window.add(T0 + 29, T0 + 29, approved=1)
    window.add(T0, T0 + 29, early=1)  # the approved one counts before its grace is over
    assert window.tally(T0 + 29) == Tally(sent=1, approved=1)
    assert window.tally(T0 + 30) == Tally(sent=2, approved=1)  # the other one, now 30 s old


def test_a_discard_forgets_every_bucket_before_it_and_keeps_the_later_ones() -> None:
    window = KeyWindow(window=3600, grace=30)
    for second in range(10):
        window.add(T0 + second, T0 + second, sent=3)
    window.discard_before(T0 + 5)
    assert window.tally(T0 + 100) == Tally(sent=15, approved=0)


def test_the_running_totals_match_a_recount_under_random_events() -> None:
    """Events in and out of order, time moving on: the kept totals equal a count from scratch."""
    rng = random.Random(7)
    window, grace, span = KeyWindow(window=300, grace=30), 30, 300
    events: list[tuple[int, int, int, int]] = []
    now = T0
    for _ in range(3000):
        now += rng.choice((0, 0, 1, 2, 7))
        bucket = now - rng.choice((0, 0, 0, 5, 29, 31, 200, 400))
        sent, approved, early = rng.choice(((1, 0, 0), (0, 1, 0), (0, 0, 1), (-1, 0, 0)))
        window.add(bucket, now, sent, approved, early)
        if bucket >= now - span:
            events.append((bucket, sent, approved, early))
        if rng.random() < 0.05:
            live = [event for event in events if event[0] >= now - span]
            aged = sum(s for b, s, _, _ in live if b + grace <= now)
            young_early = sum(e for b, _, _, e in live if b + grace > now)
            assert window.tally(now) == Tally(aged + young_early, sum(a for _, _, a, _ in live))


@pytest.mark.parametrize(
    ("scope", "sent", "approved", "tripped"),
    [
        ("prefix", 19, 0, False),  # 19 unverified: under the sample
        ("prefix", 20, 0, True),
        ("prefix", 24, 4, True),  # 20 unverified at 0.17
        ("prefix", 25, 5, False),  # 20 unverified, but 0.2 converts
        ("prefix", 23, 4, False),  # 19 unverified
        ("country", 59, 0, False),
        ("country", 60, 0, True),
        ("country", 74, 14, True),
        ("country", 75, 15, False),
    ],
)
def test_the_sample_of_unverified_sends_and_the_threshold(scope: str, sent: int, approved: int, tripped: bool) -> None:
    assert trips(RULES, scope, Tally(sent, approved)) is tripped


def test_approvals_never_make_a_ratio_above_one_nor_a_negative_count() -> None:
    odd = Tally(sent=-1, approved=3)
    assert (odd.unverified, odd.ratio) == (0, 1.0)
    assert Tally(sent=2, approved=3).ratio == 1.0


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
