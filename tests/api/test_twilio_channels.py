"""The official twilio SDK drives whatsapp, call and email through the compatible Verify API
(SPEC 20), over real sockets, on SQLite and PostgreSQL: started, delivered, approved."""

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import LiveFactory
from tests.api.live import twilio_client
from tests.channels.smtp_server import smtp_server
from tests.fakes import TwilioFake, start_fake
from tests.fakes.twilio import error_reply

NUMBER = "+393331234567"
CHANNELS = {"twilio_whatsapp_from": "+14155238886", "twilio_voice_from": "+15005550006"}


@pytest.fixture
def twilio_provider() -> Iterator[TwilioFake]:
    with start_fake("twilio") as (_, fake):
        assert isinstance(fake, TwilioFake)
        yield fake


def digits(text: str) -> str:
    return "".join(re.findall(r"\d", text))


def test_whatsapp_and_call_verifications_through_the_sdk(live: LiveFactory, twilio_provider: TwilioFake) -> None:
    with live(**twilio_provider.settings(), **CHANNELS) as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services.create(friendly_name="Acme", code_length=6)
        verifications = verify.services(service.sid).verifications
        checks = verify.services(service.sid).verification_checks

        whatsapp = verifications.create(to=NUMBER, channel="whatsapp")
        sent = twilio_provider.sends[-1]
        assert sent.form["To"] == f"whatsapp:{NUMBER}" and "Acme" in sent.form["Body"]
        assert (whatsapp.channel, whatsapp.status) == ("whatsapp", "pending")
        assert [attempt["channel"] for attempt in whatsapp.send_code_attempts] == ["whatsapp"]
        code = re.search(r"\b\d{6}\b", sent.form["Body"])
        assert code is not None
        assert checks.create(to=NUMBER, code=code.group()).status == "approved"

        app.clock.advance(60)
        call = verifications.create(to=NUMBER, channel="call", locale="de")
        twiml = twilio_provider.sends[-1].form["Twiml"]
        assert twilio_provider.sends[-1].path.endswith("/Calls.json") and 'language="de-DE"' in twiml
        said = re.search(r"<Say[^>]*>([^<]*)</Say>", twiml)
        assert said is not None and len(digits(said.group(1))) == 6
        assert call.channel == "call" and call.send_code_attempts[0]["channel"] == "call"
        fetched = verifications(call.sid).fetch()
        assert fetched.channel == "call"
        assert checks.create(verification_sid=call.sid, code=digits(said.group(1))).status == "approved"


def test_a_fallback_shows_in_the_attempts_only(live: LiveFactory, twilio_provider: TwilioFake) -> None:
    """The compatible API has no fallback parameter: a native start with one, seen through the SDK."""
    twilio_provider.push_when("To", f"whatsapp:{NUMBER}", error_reply(63003, NUMBER))
    with live(**twilio_provider.settings(), **CHANNELS, sms_default_sender="ACME") as app:
        started = httpx.post(
            app.url + "/verify/start", json={"to": NUMBER, "channel": "whatsapp", "fallback": ["sms"]}
        ).json()
        assert started["channel"] == "whatsapp"
        verify = twilio_client(app.url).verify.v2
        service = verify.services.create(friendly_name="Acme")
        # Service-less verifications are visible to every service (SPEC 11).
        fetched = verify.services(service.sid).verifications(started["id"]).fetch()
        assert fetched.channel == "whatsapp"
        assert [attempt["channel"] for attempt in fetched.send_code_attempts] == ["whatsapp", "sms"]


def test_an_email_verification_through_the_sdk(live: LiveFactory, twilio_provider: TwilioFake) -> None:
    with smtp_server() as (address, sink):
        settings = {"smtp_url": f"smtp://{address}", "email_from": "codes@acme.example"}
        with live(**twilio_provider.settings(), **settings) as app:
            verify = twilio_client(app.url).verify.v2
            service = verify.services.create(friendly_name="Acme", code_length=8)
            started = verify.services(service.sid).verifications.create(to="Zoe@Example.org", channel="email")
            assert (started.to, started.channel) == ("Zoe@example.org", "email")
            [received] = sink.messages()
            text = received.message.get_body(("plain",))
            assert text is not None
            code = re.search(r"\b\d{8}\b", str(text.get_content()))
            assert code is not None and received.recipients == ["Zoe@example.org"]
            check = verify.services(service.sid).verification_checks.create(to="Zoe@example.org", code=code.group())
            assert check.status == "approved" and check.channel == "email"
