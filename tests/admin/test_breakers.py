"""What the console relies on of any BreakerControl (the stand-in now, the fraud breaker's adapter
once wired: add it to IMPLEMENTATIONS)."""

from collections.abc import Callable

import pytest

from otpservice.admin.breakers import BreakerControl, InvalidBreakerKey, StandInBreakers, check_key
from otpservice.clock import FakeClock

IMPLEMENTATIONS: dict[str, Callable[[FakeClock], BreakerControl]] = {"stand-in": StandInBreakers}


@pytest.fixture(params=list(IMPLEMENTATIONS))
def control(request: pytest.FixtureRequest, clock: FakeClock) -> BreakerControl:
    return IMPLEMENTATIONS[request.param](clock)


async def test_block_allow_and_reset(control: BreakerControl) -> None:
    assert await control.list_breakers() == []
    await control.act("prefix", "+4474001", "block", None, "pumping from this range")
    await control.act("country", "GB", "allow", None, None)
    rows = {(row.scope, row.key): row for row in await control.list_breakers()}
    assert rows[("prefix", "+4474001")].state == "blocked" and "pumping" in rows[("prefix", "+4474001")].reason
    assert rows[("country", "GB")].state == "allowed"
    await control.act("prefix", "+4474001", "reset", None, None)
    assert [(row.scope, row.key) for row in await control.list_breakers()] == [("country", "GB")]


async def test_an_override_with_a_ttl_ends_by_itself(control: BreakerControl, clock: FakeClock) -> None:
    await control.act("country", "NG", "block", 60, None)
    (row,) = await control.list_breakers()
    assert row.retry_at == pytest.approx(clock.now() + 60)
    clock.advance(61)
    assert await control.list_breakers() == []


async def test_keys_that_are_neither_prefix_nor_country_are_refused(control: BreakerControl) -> None:
    for scope, key in (
        ("prefix", "4474"),
        ("prefix", "+44 74"),
        ("country", "GBR"),
        ("country", "G1"),
        ("planet", "GB"),
    ):
        with pytest.raises(InvalidBreakerKey):
            await control.act(scope, key, "block", None, None)
    assert await control.list_breakers() == []


def test_check_key_canonical_forms() -> None:
    assert check_key("country", "gb") == "GB" and check_key("prefix", "+4474001") == "+4474001"
    with pytest.raises(InvalidBreakerKey):
        check_key("prefix", "+٤٤")  # other scripts' digits are no digits here


async def test_a_stand_in_trip_reads_as_an_open_breaker_with_its_reason(clock: FakeClock) -> None:
    breakers = StandInBreakers(clock)
    breakers.trip("prefix", "+4474001", settled=20, approved=2, threshold=0.2, cooldown=900)
    (row,) = await breakers.list_breakers()
    assert (row.state, row.settled, row.approved, row.ratio) == ("open", 20, 2, 0.1)
    assert row.retry_at == clock.now() + 900 and row.reason == "conversion 10% < 20% over 20 settled"
