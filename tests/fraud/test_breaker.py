"""The breaker's state machine on the fake clock (SPEC 18): unverified sends counted as they happen,
trips, the country's grace, cooldowns, probes, overrides, outages."""

import logging

import pytest

from otpservice.api.errors import error_json
from otpservice.clock import FakeClock, to_datetime
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.verifications import VerificationStore
from otpservice.errors import DestinationSuspended, InvalidRequest, LimitsUnavailable
from otpservice.fraud.operator import Override
from tests.fraud.helpers import HEALTHY, RANGE, RULES, Rig, in_range, rig, sent_in_store, with_mode


async def attack(r: Rig, count: int, first: int = 0) -> None:
    for index in range(first, first + count):
        await r.start_and_send(in_range(index))


async def refused(r: Rig, to: str) -> DestinationSuspended:
    with pytest.raises(DestinationSuspended) as caught:
        await r.guard.before_start(to)
    return caught.value


async def test_the_twentieth_unverified_send_trips_its_range_and_the_next_start_is_refused(
    migrated_url: str, clock: FakeClock
) -> None:
    async with rig(migrated_url, clock) as r:
        await attack(r, 19)
        await r.guard.before_start(in_range(19))  # 19 unverified: under the sample
        await r.guard.sent(r.verification(in_range(19)))  # the start whose send tips it is sent
        refusal = await refused(r, in_range(20))  # the very next start, not a second later
        assert (refusal.scope, refusal.key) == ("prefix", RANGE)
        assert 899 <= refusal.retry_after <= 900
        assert error_json(refusal)["code"] == "destination_suspended"
        await r.guard.before_start("+393471234567")  # the rest of the country still passes
        [listed] = await r.operator.list()
        assert listed | {"openedAt": None, "retryAt": None} == {
            "scope": "prefix",
            "key": RANGE,
            "state": "open",
            "settled": 20,  # holds `sent` (SPEC 24)
            "approved": 0,
            "ratio": 0.0,
            "threshold": 0.2,
            "openedAt": None,
            "retryAt": None,
            "reason": listed["reason"],
        }
        assert "20 unverified of 20 sent" in listed["reason"] and "0.00 < 0.2" in listed["reason"]


async def test_approvals_keep_a_range_that_converts_open(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        for index in range(25):
            verification = await r.start_and_send(in_range(index))
            if index % 5 == 0:  # 5 of 25 approved: 20 unverified, but a conversion of 0.2
                clock.advance(10)
                await r.guard.settled(verification, "approved")
        await r.guard.before_start(in_range(99))
        assert await r.operator.list() == []
        await r.start_and_send(in_range(100))  # 21 unverified of 26 sent: 0.19
        assert (await refused(r, in_range(101))).key == RANGE


async def test_sends_leave_the_count_after_the_window(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        await attack(r, 19)
        clock.advance(RULES.window + 1)
        await attack(r, 19, first=100)
        await r.guard.before_start(in_range(200))
        assert await r.operator.list() == []


async def test_healthy_traffic_never_trips(migrated_url: str, clock: FakeClock) -> None:
    """Hours of traffic at 50% to 70% conversion, approvals 5 to 60 s after the send, never refused."""
    async with rig(migrated_url, clock) as r:
        waiting: list[tuple[float, object]] = []
        for index in range(600):
            prefix = (RANGE, *HEALTHY)[index % 4]
            verification = await r.start_and_send(in_range(index, prefix, 13 if prefix != HEALTHY[2] else 12))
            if (index % 4 == 0 and index % 8 == 0) or (index % 4 != 0 and index % 10 < 7):
                waiting.append((clock.now() + 5 + index % 56, verification))
            clock.advance(3)
            for due, approved in [item for item in waiting if item[0] <= clock.now()]:
                await r.guard.settled(approved, "approved")  # type: ignore[arg-type]
                waiting.remove((due, approved))
        assert await r.operator.list() == []


async def test_a_country_trips_on_three_times_the_sample_once_its_sends_are_past_the_grace(
    migrated_url: str, clock: FakeClock
) -> None:
    async with rig(migrated_url, clock) as r:
        for index in range(60):  # six German ranges of ten: each under the prefix sample
            await r.start_and_send(f"+4917{index // 10}123{index % 10:04d}")
        clock.advance(RULES.grace - 1)
        await r.guard.before_start("+491761234567")  # 29 s: the sends do not count for Germany yet
        clock.advance(1)
        refusal = await refused(r, "+491761234568")
        assert (refusal.scope, refusal.key) == ("country", "DE")


async def test_a_launch_in_a_new_country_is_judged_on_users_who_had_time_to_type(
    migrated_url: str, clock: FakeClock
) -> None:
    """A surge of first-time traffic, 70% approving 5 to 60 s after the code: never refused."""
    async with rig(migrated_url, clock) as r:
        waiting: list[tuple[float, object]] = []
        for index in range(400):  # 4 starts a second, each to a range of its own
            verification = await r.start_and_send(f"+5511{9000 + index:04d}{index % 10:04d}")
            if index % 10 < 7:
                waiting.append((clock.now() + 5 + (index * 7) % 56, verification))
            clock.advance(0.25)
            for due, approved in [item for item in waiting if item[0] <= clock.now()]:
                await r.guard.settled(approved, "approved")  # type: ignore[arg-type]
                waiting.remove((due, approved))
        assert await r.operator.list() == []


async def test_an_approval_within_the_grace_counts_for_its_country_at_once(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        sent = [await r.start_and_send(f"+4917{index // 10}123{index % 10:04d}") for index in range(75)]
        clock.advance(10)
        for verification in sent[:15]:
            await r.guard.settled(verification, "approved")
        clock.advance(RULES.grace)  # 75 sent, 15 approved: 60 unverified at exactly 0.2
        await r.guard.before_start("+491761234567")
        assert await r.operator.list() == []


async def test_after_the_cooldown_three_probes_go_out_and_one_approval_closes(
    migrated_url: str, clock: FakeClock
) -> None:
    async with rig(migrated_url, clock) as r:
        await attack(r, 20)
        await refused(r, in_range(20))
        clock.advance(899)
        await refused(r, in_range(20))
        clock.advance(2)
        probes = [await r.start_and_send(in_range(30 + index)) for index in range(3)]
        assert [item["state"] for item in await r.operator.list()] == ["half_open"]
        fourth = await refused(r, in_range(40))
        assert fourth.retry_after >= RULES.ttl - 1  # until the probes can have settled
        await r.guard.settled(probes[1], "approved")
        clock.advance(1)
        await r.start_and_send(in_range(41))  # closed, and the 20 unapproved before are forgotten
        clock.advance(3)
        await r.guard.before_start(in_range(42))
        assert await r.operator.list() == []


async def test_probes_settling_unapproved_reopen_for_twice_the_cooldown(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        await attack(r, 20)
        await refused(r, in_range(20))
        clock.advance(901)
        probes = [await r.start_and_send(in_range(30 + index)) for index in range(3)]
        for probe in probes:
            await r.guard.settled(probe, "ended")
        clock.advance(1)
        assert 1799 <= (await refused(r, in_range(40))).retry_after <= 1800
        clock.advance(1800)  # probes that never settle re-open too, once older than OTP_TTL: 3600 s now
        for index in range(3):
            await r.start_and_send(in_range(50 + index))
        clock.advance(RULES.ttl + 1)
        assert 3599 <= (await refused(r, in_range(60))).retry_after <= 3600


async def test_the_cooldown_doubles_up_to_twelve_hours(migrated_url: str, clock: FakeClock) -> None:
    assert [RULES.cooldown_for(trips) for trips in (1, 2, 3, 6, 7, 20)] == [900, 1800, 3600, 28800, 43200, 43200]


async def test_a_number_approved_within_30_days_is_never_refused(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        real_user = in_range(7777)
        engine = make_engine(migrated_url)
        approved = r.verification(real_user)
        approved.status, approved.approved_at = "approved", to_datetime(clock.now())
        await VerificationStore(make_sessionmaker(engine)).add_pending(approved)
        await engine.dispose()
        clock.advance(86400)
        await attack(r, 20)
        await refused(r, in_range(20))
        await r.guard.before_start(real_user)
        clock.advance(31 * 86400)  # half-open by now: three probes, then no exemption any more
        await attack(r, 3, first=100)
        await refused(r, real_user)


async def test_shadow_never_refuses_but_logs_what_it_would_do(
    migrated_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(migrated_url, clock, with_mode("shadow")) as r:
        await attack(r, 20)
        with caplog.at_level(logging.INFO, logger="otpservice.fraud"):
            await r.guard.before_start(in_range(99))
        decisions = [record for record in caplog.records if record.getMessage() == "breaker decision"]
        assert [record.decision for record in decisions] == ["trip", "would_refuse"]  # type: ignore[attr-defined]
        for record in decisions:
            fields = {
                name: getattr(record, name)
                for name in (
                    "scope",
                    "key",
                    "decision",
                    "mode",
                    "settled",
                    "unverified",
                    "approved",
                    "ratio",
                    "threshold",
                    "window",
                )
            }
            assert fields | {"decision": None} == {
                "scope": "prefix",
                "key": RANGE,
                "decision": None,
                "mode": "shadow",
                "settled": 20,
                "unverified": 20,
                "approved": 0,
                "ratio": 0.0,
                "threshold": 0.2,
                "window": 3600,
            }


@pytest.mark.parametrize("mode", ["shadow", "enforce"])
async def test_operator_block_acts_in_shadow_and_enforce_on_every_number_under_it(
    migrated_url: str, clock: FakeClock, mode: str
) -> None:
    async with rig(migrated_url, clock, with_mode(mode)) as r:
        await r.operator.apply("prefix", "+3933", Override("block", ttl=600, note="premium range"), actor="t")
        refusal = await refused(r, "+393331234567")
        assert (refusal.scope, refusal.key, refusal.retry_after) == ("prefix", "+3933", 600)
        await r.guard.before_start("+393471234567")
        [listed] = await r.operator.list()
        assert (listed["state"], listed["reason"]) == ("blocked", "premium range")
        clock.advance(601)
        await r.guard.before_start("+393331234567")
        await r.operator.apply("country", "IT", Override("block"), actor="t")
        clock.advance(2)
        assert (await refused(r, "+393471234567")).retry_after == 12 * 3600  # until reset
        await r.operator.apply("country", "IT", Override("reset"), actor="t")
        clock.advance(2)
        await r.guard.before_start("+393471234567")


async def test_allow_exempts_an_open_range_and_reset_closes_it(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        await attack(r, 20)
        await refused(r, in_range(20))
        await r.operator.apply("prefix", RANGE, Override("allow", note="our own test SIMs"), actor="t")
        await r.guard.before_start(in_range(21))  # at once in the process that applied it
        assert [item["state"] for item in await r.operator.list()] == ["allowed"]
        await r.operator.apply("prefix", RANGE, Override("reset"), actor="t")
        await r.start_and_send(in_range(22))  # closed, the counts before the reset discarded
        await r.start_and_send(in_range(23))
        assert await r.operator.list() == []


async def test_off_ignores_counts_and_overrides(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock, with_mode("off")) as r:
        await r.operator.apply("country", "IT", Override("block"), actor="t")
        await attack(r, 30)
        await r.guard.before_start(in_range(99))
        await r.guard.counts.flush()
        assert await sent_in_store(r.store, "prefix", RANGE) == 0


@pytest.mark.parametrize(
    ("scope", "key"),
    [
        ("prefix", "3933"),
        ("prefix", "+39 33"),
        ("country", "I1"),
        ("country", "ITA"),
        ("network", "22201"),
        ("prefix", "+" + "1" * 16),
    ],
)
async def test_keys_are_validated(migrated_url: str, clock: FakeClock, scope: str, key: str) -> None:
    async with rig(migrated_url, clock) as r:
        with pytest.raises(InvalidRequest):
            await r.operator.apply(scope, key, Override("block"), actor="t")


@pytest.mark.parametrize("mode", ["shadow", "enforce"])
async def test_unreadable_state_fails_closed_in_enforce_only(clock: FakeClock, mode: str) -> None:
    unreachable = "postgresql+asyncpg://postgres@127.0.0.1:9/nothing"  # the discard port: refused at once
    async with rig(unreachable, clock, with_mode(mode)) as r:
        if mode == "enforce":
            with pytest.raises(LimitsUnavailable):
                await r.guard.before_start(in_range(1))
        else:
            await r.guard.before_start(in_range(1))


async def test_a_state_read_once_stays_usable_for_a_few_seconds_then_fails_closed(
    migrated_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(migrated_url, clock) as r:
        await r.guard.before_start(in_range(1))
        engine_gone = make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")
        monkeypatch.setattr(r.store, "_sessions", make_sessionmaker(engine_gone))  # the database goes away
        clock.advance(3)
        await r.guard.before_start(in_range(2))  # the copy read 3 s ago still holds
        clock.advance(3)
        with pytest.raises(LimitsUnavailable):
            await r.guard.before_start(in_range(3))
        await engine_gone.dispose()


async def test_in_shadow_a_block_refuses_even_when_an_open_breaker_would_end_later(
    migrated_url: str, clock: FakeClock
) -> None:
    async with rig(migrated_url, clock, with_mode("shadow")) as r:
        await attack(r, 20)
        await r.guard.before_start(in_range(20))  # trips; shadow lets it through
        await r.operator.apply("country", "IT", Override("block", ttl=60), actor="t")
        clock.advance(2)
        refusal = await refused(r, in_range(21))
        assert (refusal.scope, refusal.key) == ("country", "IT")


async def test_counts_written_while_the_database_is_away_wait_for_the_next_flush(
    migrated_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(migrated_url, clock) as r:
        sessions = r.store._sessions
        engine_gone = make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")
        monkeypatch.setattr(r.store, "_sessions", make_sessionmaker(engine_gone))
        for index in range(5):
            await r.guard.sent(r.verification(in_range(index)))
        await r.guard.counts.flush()  # refused: kept
        monkeypatch.setattr(r.store, "_sessions", sessions)
        await r.guard.counts.flush()
        assert await sent_in_store(r.store, "prefix", RANGE) == 5
        await engine_gone.dispose()


async def test_an_opening_breaker_calls_the_alert_hook_with_its_counts(migrated_url: str, clock: FakeClock) -> None:
    async with rig(migrated_url, clock) as r:
        opened: list[object] = []
        r.guard.transitions.on_opened = opened.append
        await attack(r, 20)
        await refused(r, in_range(20))
        [event] = opened
        assert (event.scope, event.key, event.settled, event.approved, event.threshold) == (  # type: ignore[attr-defined]
            "prefix",
            RANGE,
            20,
            0,
            0.2,
        )
