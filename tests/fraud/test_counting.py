"""Counts shared by replicas (two guards on one database, one fake clock), and resets that
discard every count before them, written or not (SPEC 18)."""

from otpservice.clock import FakeClock
from otpservice.fraud.operator import Override
from tests.fraud.helpers import RANGE, in_range, rig, sent_in_store
from tests.fraud.test_breaker import attack, refused


async def test_a_replica_counts_the_other_replicas_sends_within_a_second_or_two(
    migrated_url: str, clock: FakeClock
) -> None:
    async with rig(migrated_url, clock) as a, rig(migrated_url, clock) as b:
        await a.guard.before_start(in_range(0))
        await b.guard.before_start(in_range(0))
        await attack(a, 10)
        await attack(b, 10, first=10)
        clock.advance(1)
        await a.guard.counts.flush()
        await b.guard.counts.flush()
        clock.advance(1)  # the next read of the other replica's rows
        assert (await refused(a, in_range(50))).key == RANGE
        clock.advance(1)  # b reads a's trip with its next rows
        assert (await refused(b, in_range(51))).key == RANGE


async def test_a_reset_discards_counts_not_yet_written_anywhere(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as a, rig(migrated_url, clock) as b:
        await attack(a, 19)  # counted by `a`, not written yet
        await b.operator.apply("prefix", RANGE, Override("reset"), actor="t")
        clock.advance(1.5)
        await a.start_and_send(in_range(19))  # `a` learns of the reset before it judges this start
        await a.start_and_send(in_range(20))
        await a.guard.counts.flush()
        clock.advance(1.5)
        await b.guard.before_start(in_range(21))
        await a.guard.before_start(in_range(22))
        assert await a.operator.list() == []
        assert await sent_in_store(a.store, "prefix", RANGE) == 2  # the 19 before the reset never written


async def test_counts_written_before_a_reset_are_ignored_by_the_replica_that_reads_them_later(
    migrated_url: str, clock: FakeClock
) -> None:
    async with rig(migrated_url, clock) as a, rig(migrated_url, clock) as b:
        await b.guard.before_start(in_range(0))
        await attack(a, 19)
        await a.guard.counts.flush()
        await b.operator.apply("prefix", RANGE, Override("reset"), actor="t")
        clock.advance(1.5)
        await b.start_and_send(in_range(30))  # b reads a's 19 now: from before its reset
        clock.advance(1)
        await b.guard.before_start(in_range(31))
        assert await b.operator.list() == []


async def test_a_trip_decided_on_counts_older_than_a_reset_is_not_taken(migrated_url: str, clock: FakeClock) -> None:
    """A replica that has not yet seen the reset judges the old counts: the database refuses its trip."""
    async with rig(migrated_url, clock) as a, rig(migrated_url, clock) as b:
        await attack(a, 20)  # `a` read the breaker rows at its first start; no refresh due before 1 s
        await b.operator.apply("prefix", RANGE, Override("reset"), actor="t")
        await a.guard.before_start(in_range(20))  # trips on the old counts: not taken, the start passes
        assert await b.operator.list() == []
        clock.advance(1.5)
        await a.guard.before_start(in_range(21))  # the reset seen: the old counts are gone
        assert await a.operator.list() == []


async def test_new_traffic_after_a_reset_trips_again(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        await attack(r, 20)
        await refused(r, in_range(20))
        await r.operator.apply("prefix", RANGE, Override("reset"), actor="t")
        clock.advance(1)
        await attack(r, 20, first=100)
        assert (await refused(r, in_range(200))).key == RANGE


async def test_an_allow_discards_the_counts_before_it(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        await attack(r, 19)
        await r.operator.apply("prefix", RANGE, Override("allow", ttl=10), actor="t")
        clock.advance(11)
        await r.start_and_send(in_range(50))  # the allow is over; the 19 before it no longer count
        await r.guard.before_start(in_range(51))
        assert await r.operator.list() == []


async def test_a_new_process_takes_the_window_from_the_database_old_rows_summed(
    migrated_url: str, clock: FakeClock
) -> None:
    async with rig(migrated_url, clock) as before:
        await attack(before, 12)
        clock.advance(300)  # these rows are old: read summed per ten minutes
        await attack(before, 7, first=20)  # these are recent: read row by row
        await before.guard.counts.flush()
    async with rig(migrated_url, clock) as after:
        await after.start_and_send(in_range(40))  # 20 unverified in the window
        assert (await refused(after, in_range(41))).key == RANGE
