"""Delivery faults (SPEC sections 14 and 16), through the whole app and real fake-provider servers:
ambiguous outcomes, failover rules, queued codes checked against their verification, codes first."""

from typing import Any

import httpx
from sqlalchemy import select

from otpservice.clock import FakeClock
from otpservice.db.models import Message
from tests.fakes import Reply, TwilioFake, VonageFake
from tests.fakes.fixtures import ProviderApp, fake_twilio, fake_vonage, provider_app  # noqa: F401
from tests.fakes.vonage import API_KEY as VONAGE_KEY, API_SECRET as VONAGE_SECRET
from tests.ops.helpers import closed_port

NUMBER = "+393331234567"
SEND = {"sender": "ACME", "receiver": NUMBER, "body": "hello"}
DOWN = Reply(503, json={"code": 20500, "message": "down", "status": 503})
TIMEOUT = 0.5  # PROVIDER_TIMEOUT of these tests: the message lease is 1 s


def with_vonage(fake_vonage: VonageFake) -> dict[str, Any]:
    return {
        "sms_fallback_provider": "vonage",
        "vonage_base_url": fake_vonage.base_url,
        "vonage_api_key": VONAGE_KEY,
        "vonage_api_secret": VONAGE_SECRET,
    }


async def drain(client: httpx.AsyncClient) -> int:
    return await client.app.state.services.worker.drain_once()  # type: ignore[attr-defined]


async def record(client: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    response = await client.get(f"/messages/{sid}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_lost_answer_is_ambiguous_retried_once_on_the_same_provider_after_the_lease(
    fake_twilio: TwilioFake, fake_vonage: VonageFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    """The request reached the provider, no answer came back in time: it may have been sent.
    No failover at once (a second SMS); one retry on the same provider once the lease is over."""
    fake_twilio.push(Reply(201, json={"sid": "SM" + "1" * 32, "status": "queued"}, delay=3 * TIMEOUT))
    async with provider_app(
        fake_twilio, sms_queue_enabled=True, provider_timeout=TIMEOUT, **with_vonage(fake_vonage)
    ) as client:
        response = await client.post("/send", json=SEND)
        assert (response.status_code, response.json()["status"]) == (202, "queued")
        sid = response.json()["sid"]
        assert len(fake_vonage.sends) == 0
        history = (await record(client, sid))["history"]
        assert [step["status"] for step in history] == ["ambiguous", "queued"]
        assert history[0]["provider"] == "twilio" and history[0]["detail"]
        clock.advance(2 * TIMEOUT - 0.1)  # within the lease: not yet
        await drain(client)
        assert len(fake_twilio.sends) == 1
        clock.advance(0.2)
        await drain(client)
        sent = await record(client, sid)
    assert sent["status"] == "sent" and sent["provider"] == "twilio"
    assert (len(fake_twilio.sends), len(fake_vonage.sends)) == (2, 0)


async def test_a_refused_connection_fails_over_at_once(fake_vonage: VonageFake, provider_app: ProviderApp) -> None:
    """Nothing listens where the primary should be: it certainly did not send."""
    from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN

    twilio = {
        "service_provider": "twilio",
        "twilio_base_url": f"http://127.0.0.1:{closed_port()}",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
    }
    async with provider_app(
        fake_vonage, **twilio, sms_queue_enabled=True, provider_timeout=TIMEOUT, **with_vonage(fake_vonage)
    ) as client:
        response = await client.post("/send", json=SEND)
        assert response.status_code == 200, response.text
        assert (await record(client, response.json()["sid"]))["provider"] == "vonage"
    assert len(fake_vonage.sends) == 1


async def test_primary_down_and_fallback_refusing_for_good_keeps_retrying_the_primary(
    fake_twilio: TwilioFake, fake_vonage: VonageFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    fake_twilio.push(DOWN)
    fake_vonage.fail_next("15")  # "Illegal Sender Address - rejected": no retry mends it there
    async with provider_app(fake_twilio, sms_queue_enabled=True, **with_vonage(fake_vonage)) as client:
        response = await client.post("/send", json=SEND)
        assert (response.status_code, response.json()["status"]) == (202, "queued")
        clock.advance(5)
        await drain(client)
        sent = await record(client, response.json()["sid"])
    assert (sent["status"], sent["provider"]) == ("sent", "twilio")
    assert (len(fake_twilio.sends), len(fake_vonage.sends)) == (2, 1)


async def test_every_provider_refusing_for_good_fails_at_once(
    fake_twilio: TwilioFake, fake_vonage: VonageFake, provider_app: ProviderApp
) -> None:
    fake_twilio.fail_next(21610)
    fake_vonage.fail_next("7")
    async with provider_app(fake_twilio, sms_queue_enabled=True, **with_vonage(fake_vonage)) as client:
        response = await client.post("/send", json=SEND)
    assert (response.status_code, response.json()["code"]) == (403, "number_blocked")
    assert "21610" in response.json()["message"]  # the primary's verdict is the one told


async def test_retries_are_bounded_six_attempts_waits_within_30_s(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    for _ in range(10):
        fake_twilio.push(DOWN)
    async with provider_app(fake_twilio, sms_queue_enabled=True) as client:
        sid = (await client.post("/send", json=SEND)).json()["sid"]
        for _ in range(8):
            clock.advance(30)
            await drain(client)
        failed = await record(client, sid)
    assert (failed["status"], failed["attempts"]) == ("failed", 6)
    assert len(fake_twilio.sends) == 6


async def start_with_its_code(client: httpx.AsyncClient, fake: TwilioFake) -> tuple[str, str]:
    started = await client.post("/verify/start", json={"to": NUMBER})
    assert started.status_code == 201, started.text
    body = fake.sends[-1].form["Body"]
    return started.json()["id"], next(word for word in body.replace(".", " ").split() if word.isdigit())


async def code_message(client: httpx.AsyncClient, verification_id: str) -> Message:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    async with engine.connect() as connection:
        row = (await connection.execute(select(Message).where(Message.verification_id == verification_id))).one()
    return row  # type: ignore[no-any-return]


async def test_a_queued_code_of_an_approved_verification_is_not_sent(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    fake_twilio.push(DOWN)
    async with provider_app(fake_twilio, sms_queue_enabled=True, sms_default_sender="ACME") as client:
        verification_id, code = await start_with_its_code(client, fake_twilio)
        checked = await client.post("/verify/check", json={"id": verification_id, "code": code})
        assert checked.json()["status"] == "approved"
        clock.advance(5)
        await drain(client)
        message = await code_message(client, verification_id)
        assert message.status == "canceled" and message.body_ciphertext is None
        history = (await record(client, message.id))["history"]
        assert history[-1]["status"] == "canceled" and "approved" in history[-1]["detail"]
    assert len(fake_twilio.sends) == 1  # only the refused first call


async def test_queued_codes_of_canceled_or_expired_verifications_are_not_sent(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    fake_twilio.push(DOWN)
    fake_twilio.push(DOWN)
    async with provider_app(
        fake_twilio, sms_queue_enabled=True, sms_default_sender="ACME", otp_ttl=60, exponential_delay_base=0.001
    ) as client:
        canceled, _ = await start_with_its_code(client, fake_twilio)
        assert (await client.post(f"/verify/{canceled}/cancel")).status_code == 200
        clock.advance(61)
        expired, _ = await start_with_its_code(client, fake_twilio)
        clock.advance(61)
        await drain(client)
        assert (await code_message(client, canceled)).status == "canceled"
        assert (await code_message(client, expired)).status == "canceled"
    assert len(fake_twilio.sends) == 2


async def test_a_code_that_fails_for_good_after_its_retries_fails_its_verification(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    for _ in range(6):
        fake_twilio.push(DOWN)
    async with provider_app(fake_twilio, sms_queue_enabled=True, sms_default_sender="ACME") as client:
        verification_id, _ = await start_with_its_code(client, fake_twilio)
        for _ in range(6):
            clock.advance(30)
            await drain(client)
        status = (await client.get(f"/verify/{verification_id}")).json()
    assert (status["status"], status["deliveryStatus"]) == ("failed", "failed")
    assert len(fake_twilio.sends) == 6


async def test_codes_go_out_before_queued_plain_messages(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: FakeClock, monkeypatch: Any
) -> None:
    """A code queued after plain messages that are due before it is still claimed first."""
    monkeypatch.setattr("otpservice.app.start_background", _no_background)  # this test drains by hand
    for _ in range(3):
        fake_twilio.push(DOWN)
    async with provider_app(fake_twilio, sms_queue_enabled=True, sms_default_sender="ACME") as client:
        for index in range(2):
            response = await client.post("/send", json={**SEND, "receiver": f"+39333123450{index}"})
            assert response.status_code == 202
        clock.advance(5)  # the plain messages are due
        otp = "+393339876543"
        assert (await client.post("/verify/start", json={"to": otp})).status_code == 201
        clock.advance(5)  # now the code is due too, later than they are
        assert await drain(client) == 3
    first, *rest = [request.form["To"] for request in fake_twilio.sends[3:]]
    assert first == otp and sorted(rest) == ["+393331234500", "+393331234501"]


async def _no_background(services: Any) -> None:
    return None
