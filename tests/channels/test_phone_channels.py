"""WhatsApp and voice codes on Twilio (SPEC 20): the native API over the fake Twilio on
127.0.0.1, the wire it gets, channel_unavailable, fallback, one budget per number, receipts."""

import re

import httpx

from otpservice.clock import FakeClock
from otpservice.delivery.signatures import twilio_signature
from tests.admin.traffic import ADMIN_KEY, login
from tests.fakes import KaleyraFake, TwilioFake
from tests.fakes.fixtures import ProviderApp, fake_kaleyra, fake_twilio, provider_app  # noqa: F401
from tests.fakes.twilio import AUTH_TOKEN, error_reply

NUMBER = "+393331234567"
WHATSAPP_FROM = "+14155238886"
VOICE_FROM = "+15005550006"
CHANNELS = {"twilio_whatsapp_from": WHATSAPP_FROM, "twilio_voice_from": VOICE_FROM}
SAY = re.compile(r'^<Response><Say language="([a-z]{2}-[A-Z]{2})" loop="2">([^<]*)</Say></Response>$')


def code_in(text: str) -> str:
    match = re.search(r"\b\d{6}\b", text)
    assert match, "no code in the message"
    return match.group()


async def check(client: httpx.AsyncClient, code: str, **where: str) -> dict[str, object]:
    response = await client.post("/verify/check", json={"code": code, **(where or {"to": NUMBER})})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_whatsapp_code_goes_to_the_whatsapp_address_and_is_approved(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    async with provider_app(fake_twilio, **CHANNELS) as client:
        started = await client.post("/verify/start", json={"to": NUMBER, "channel": "whatsapp"})
        assert started.status_code == 201, started.text
        assert started.json()["channel"] == "whatsapp"
        [sent] = fake_twilio.sends
        assert sent.path.endswith("/Messages.json")
        assert (sent.form["To"], sent.form["From"]) == (f"whatsapp:{NUMBER}", f"whatsapp:{WHATSAPP_FROM}")
        assert "Do not share it" in sent.form["Body"]  # the SMS text
        assert (await check(client, code_in(sent.form["Body"])))["status"] == "approved"


async def test_a_call_says_the_code_digit_by_digit_twice_in_the_verifications_language(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    async with provider_app(fake_twilio, **CHANNELS, otp_app_name="Shop 24") as client:
        started = await client.post("/verify/start", json={"to": NUMBER, "channel": "call", "locale": "it-IT"})
        assert started.status_code == 201, started.text
        assert (started.json()["channel"], started.json()["locale"]) == ("call", "it")
        [sent] = fake_twilio.sends
        assert sent.path.endswith("/Calls.json")
        assert (sent.form["To"], sent.form["From"]) == (NUMBER, VOICE_FROM)
        said = SAY.match(sent.form["Twiml"])
        assert said is not None, sent.form["Twiml"]
        language, text = said.groups()
        assert language == "it-IT" and "codice di verifica" in text
        digits = re.findall(r"\d", text)  # no digit but the code's (the app's "24" is not said)
        assert len(digits) == 6 and re.search(", ".join(digits), text)
        assert (await check(client, "".join(digits)))["status"] == "approved"


async def test_voice_comes_from_the_default_sender_when_it_is_a_number(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    async with provider_app(fake_twilio, sms_default_sender="+15005550009") as client:
        assert (await client.post("/verify/start", json={"to": NUMBER, "channel": "call"})).status_code == 201
        assert fake_twilio.sends[0].form["From"] == "+15005550009"
    async with provider_app(fake_twilio, sms_default_sender="ACME") as client:
        refused = await client.post("/verify/start", json={"to": "+393337654321", "channel": "call"})
        assert refused.status_code == 400 and refused.json()["code"] == "channel_unavailable"


async def test_a_channel_the_provider_cannot_serve_is_channel_unavailable(
    fake_twilio: TwilioFake, fake_kaleyra: KaleyraFake, provider_app: ProviderApp
) -> None:
    async with provider_app(fake_twilio, sms_default_sender="ACME") as client:  # no WhatsApp or voice number
        for channel in ("whatsapp", "call", "email"):
            refused = await client.post("/verify/start", json={"to": NUMBER, "channel": channel})
            assert refused.status_code == 400 and refused.json()["code"] == "channel_unavailable", channel
        unknown = await client.post("/verify/start", json={"to": NUMBER, "channel": "pigeon"})
        assert unknown.status_code == 400
    async with provider_app(fake_kaleyra, sms_default_sender="ACME") as client:
        refused = await client.post("/verify/start", json={"to": NUMBER, "channel": "whatsapp"})
        assert refused.status_code == 400 and refused.json()["code"] == "channel_unavailable"
    assert fake_twilio.sends == [] and fake_kaleyra.sends == []


async def test_whatsapp_refused_falls_back_to_sms_with_the_same_code(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    fake_twilio.push_when("To", f"whatsapp:{NUMBER}", error_reply(63003, NUMBER))  # not a WhatsApp user
    async with provider_app(fake_twilio, **CHANNELS, sms_default_sender="ACME") as client:
        started = await client.post("/verify/start", json={"to": NUMBER, "channel": "whatsapp", "fallback": ["sms"]})
        assert started.status_code == 201, started.text
        assert (started.json()["channel"], started.json()["sendAttempts"]) == ("whatsapp", 2)
        refused, sms = fake_twilio.sends
        assert refused.form["To"] == f"whatsapp:{NUMBER}"
        assert (sms.form["To"], sms.form["From"]) == (NUMBER, "ACME")
        assert code_in(refused.form["Body"]) == code_in(sms.form["Body"])
        detail = (await client.get(f"/verify/{started.json()['id']}")).json()
        assert detail["channel"] == "whatsapp" and detail["status"] == "pending"
        assert (await check(client, code_in(sms.form["Body"])))["status"] == "approved"


async def test_without_fallback_a_refused_whatsapp_fails_the_verification(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    fake_twilio.push_when("To", f"whatsapp:{NUMBER}", error_reply(63003, NUMBER))
    async with provider_app(fake_twilio, **CHANNELS) as client:
        started = await client.post("/verify/start", json={"to": NUMBER, "channel": "whatsapp"})
        assert started.status_code == 502, started.text
        assert len(fake_twilio.sends) == 1


async def test_phone_channels_share_the_numbers_delay_and_caps(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    async with provider_app(fake_twilio, **CHANNELS, sms_default_sender="ACME", exponential_delay_base=30) as client:
        assert (await client.post("/verify/start", json={"to": NUMBER, "channel": "sms"})).status_code == 201
        for channel in ("whatsapp", "call"):  # the same number's delay, whatever the channel
            again = await client.post("/verify/start", json={"to": NUMBER, "channel": channel})
            assert again.status_code == 429 and again.json()["code"] == "number_delayed", channel
    async with provider_app(
        fake_twilio, **CHANNELS, sms_default_sender="ACME", otp_max_sends_per_number_hour=2
    ) as client:
        other = "+393337654321"
        first = await client.post("/verify/start", json={"to": other, "channel": "call"})
        await client.post(f"/verify/{first.json()['id']}/cancel")
        clock.advance(60)  # past the number's delay
        second = await client.post("/verify/start", json={"to": other, "channel": "whatsapp"})
        assert second.status_code == 201
        await client.post(f"/verify/{second.json()['id']}/cancel")
        clock.advance(60)
        third = await client.post("/verify/start", json={"to": other, "channel": "sms"})
        assert third.status_code == 429 and third.json()["code"] == "number_cap_reached"


async def test_a_calls_status_callback_updates_its_attempt(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    base = "https://otp.example.com"
    async with provider_app(fake_twilio, **CHANNELS, public_base_url=base) as client:
        started = (await client.post("/verify/start", json={"to": NUMBER, "channel": "call"})).json()
        [sent] = fake_twilio.sends
        callback = sent.form["StatusCallback"]
        assert callback.startswith(base)
        history = (await client.get(f"/verify/{started['id']}")).json()
        assert history["deliveryStatus"] == "sent"
        [call_sid] = fake_twilio.call_sids
        params = {"CallSid": call_sid, "CallStatus": "completed", "AccountSid": "AC", "To": NUMBER}
        path = callback.removeprefix(base)
        answer = await client.post(
            path, data=params, headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, callback, params)}
        )
        assert answer.status_code == 204, answer.text
        assert (await client.get(f"/verify/{started['id']}")).json()["deliveryStatus"] == "delivered"


async def test_the_console_shows_the_channel_of_each_attempt(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    fake_twilio.push_when("To", f"whatsapp:{NUMBER}", error_reply(63003, NUMBER))
    settings = {**CHANNELS, "sms_default_sender": "ACME", "admin_api_keys": ADMIN_KEY}
    async with provider_app(fake_twilio, **settings) as client:
        started = await client.post("/verify/start", json={"to": NUMBER, "channel": "whatsapp", "fallback": ["sms"]})
        await login(client)
        page = (await client.get(f"/admin/verifications/{started.json()['id']}")).text
    assert '<td id="channel">whatsapp</td>' in page
    assert re.findall(r'<span class="channel">(\w+)</span>', page) == ["whatsapp", "sms"]
    assert re.search(r"send 1</td><td>MS\w+ by whatsapp via twilio: failed", page)
    assert re.search(r"send 2</td><td>MS\w+ by sms via twilio: sent", page)
