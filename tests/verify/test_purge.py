"""purge(settings): verifications no longer pending and messages, older than OTP_RETENTION_DAYS."""

from otpservice.clock import FakeClock
from otpservice.verify.purge import purge
from tests.conftest import make_settings, running_app
from tests.verify.helpers import NUMBER, OTHER_NUMBER, check, last_code, services, start, verification_rows

DAY = 86_400


async def test_purge_deletes_old_finished_verifications_and_messages(
    migrated_database_url: str, clock: FakeClock
) -> None:
    settings = make_settings(migrated_database_url, otp_retention_days=30, sms_default_sender="ACME")
    async with running_app(settings, clock=clock) as client:
        await start(client, NUMBER)
        await check(client, last_code(client), to=NUMBER)
        await start(client, OTHER_NUMBER)  # left pending: it expires unchecked
        await client.post("/send", json={"receiver": "+393339999999", "body": "hello"})
        clock.advance(29 * DAY)
        recent = (await start(client, NUMBER)).json()
    assert await purge(settings, clock) == {"expired": 1, "verifications": 0, "messages": 0}
    clock.advance(2 * DAY)
    assert await purge(settings, clock) == {"expired": 1, "verifications": 2, "messages": 3}
    async with running_app(settings, clock=clock) as client:
        rows = await verification_rows(client)
        assert [(row["id"], row["status"]) for row in rows] == [(recent["id"], "expired")]
        assert await services(client).messages.get(rows[0]["last_message_id"]) is not None


async def test_purge_keeps_what_is_still_pending(migrated_database_url: str, clock: FakeClock) -> None:
    settings = make_settings(migrated_database_url, otp_ttl=86_400, otp_retention_days=1)
    async with running_app(settings, clock=clock) as client:
        clock.advance(2 * DAY)
        started = (await start(client)).json()
    clock.advance(DAY - 1)
    assert await purge(settings, clock) == {"expired": 0, "verifications": 0, "messages": 0}
    async with running_app(settings, clock=clock) as client:
        assert [row["id"] for row in await verification_rows(client)] == [started["id"]]
