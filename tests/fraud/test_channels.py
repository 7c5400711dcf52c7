"""The breaker watches sms, whatsapp and call starts alike (SPEC 20): it keys on the number,
whatever the channel (the console provider serves every phone channel)."""

import httpx

from otpservice.clock import FakeClock
from tests.fraud.helpers import in_range
from tests.fraud.test_http import app, approve

CHANNELS = ("sms", "whatsapp", "call")


async def start(client: httpx.AsyncClient, to: str, channel: str) -> httpx.Response:
    return await client.post("/verify/start", json={"to": to, "channel": channel})


async def test_unverified_starts_on_every_phone_channel_trip_the_range_for_every_channel(
    migrated_url: str, clock: FakeClock
) -> None:
    async with app(migrated_url, clock, fraud_guard="enforce") as client:
        for index in range(20):
            started = await start(client, in_range(index), CHANNELS[index % 3])
            assert started.status_code == 201, started.text
            await approve(client, f"+39347123{index:04d}")
            clock.advance(5)
        for channel in CHANNELS:
            refused = await start(client, in_range(20), channel)
            assert refused.status_code == 429 and refused.json()["code"] == "destination_suspended", channel
