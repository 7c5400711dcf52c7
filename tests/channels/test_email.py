"""Email codes over SMTP (SPEC 20, 24): a real SMTP server on 127.0.0.1 receives them; the
address is validated and normalised; its own delay and caps; channel_unavailable without SMTP."""

import re
from email.message import EmailMessage

import httpx
import pytest

from otpservice.clock import FakeClock
from tests.channels.smtp_server import smtp_server
from tests.fakes import TwilioFake
from tests.fakes.fixtures import ProviderApp, fake_twilio, provider_app  # noqa: F401

FROM = "codes@acme.example"


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def code_of(message: EmailMessage) -> str:
    match = re.search(r"\b\d{6}\b", parts(message)[0])
    assert match
    return match.group()


async def start(client: httpx.AsyncClient, to: str, **more: object) -> httpx.Response:
    return await client.post("/verify/start", json={"to": to, "channel": "email", **more})


async def test_an_email_code_arrives_with_a_subject_a_text_and_an_html_part_and_is_approved(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    with smtp_server() as (address, sink):
        settings = {"smtp_url": f"smtp://{address}", "email_from": FROM, "otp_app_name": "Acme"}
        async with provider_app(fake_twilio, **settings) as client:
            started = await start(client, "Alice.Smith@Example.COM", locale="fr")
            assert started.status_code == 201, started.text
            body = started.json()
            assert (body["to"], body["channel"], body["locale"]) == ("Alice.Smith@example.com", "email", "fr")
            [received] = sink.messages()
            assert received.sender == FROM and received.recipients == ["Alice.Smith@example.com"]
            message = received.message
            assert message["From"] == FROM and message["To"] == "Alice.Smith@example.com"
            assert message["Subject"] == "Votre code de vérification Acme" and message["Message-ID"]
            text, html = parts(message)
            code = code_of(message)
            assert f"est {code}" in text and f"<strong>{code}</strong>" in html
            assert code not in message["Subject"]
            wrong = await client.post("/verify/check", json={"to": "Alice.Smith@example.com", "code": "000000"})
            assert wrong.json()["valid"] is False
            right = await client.post("/verify/check", json={"to": "Alice.Smith@EXAMPLE.com", "code": code})
            assert right.status_code == 200 and right.json()["status"] == "approved", right.text
    assert fake_twilio.sends == []  # no SMS provider call for an email


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_credentials_in_the_url_authenticate(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    with smtp_server(login=("mailer", "s3cret:pw")) as (address, sink):
        url = f"smtp://mailer:s3cret%3Apw@{address}"
        async with provider_app(fake_twilio, smtp_url=url, email_from=FROM) as client:
            assert (await start(client, "bob@example.com")).status_code == 201
        assert sink.logins == [("mailer", "s3cret:pw")] and len(sink.messages()) == 1


async def test_a_bad_address_is_invalid_email_and_no_smtp_is_channel_unavailable(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    with smtp_server() as (address, sink):
        async with provider_app(fake_twilio, smtp_url=f"smtp://{address}", email_from=FROM) as client:
            for bad in ("not-an-address", "a@b@example.com", "+393331234567", "x@" + "d" * 300 + ".com"):
                refused = await start(client, bad)
                assert refused.status_code == 400 and refused.json()["code"] == "invalid_email", bad
            fallback = await start(client, "dan@example.com", fallback=["sms"])
            assert fallback.status_code == 400
        assert sink.messages() == []
    async with provider_app(fake_twilio) as client:
        refused = await start(client, "dan@example.com")
        assert refused.status_code == 400 and refused.json()["code"] == "channel_unavailable"


async def test_an_address_has_its_own_delay_and_caps(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    with smtp_server() as (address, sink):
        settings = {"smtp_url": f"smtp://{address}", "email_from": FROM, "otp_max_sends_per_email_hour": 2}
        async with provider_app(fake_twilio, **settings, exponential_delay_base=30) as client:
            first = await start(client, "erin@example.com")
            assert first.status_code == 201
            delayed = await start(client, "erin@example.com")
            assert delayed.status_code == 429 and delayed.json()["code"] == "number_delayed"
            clock.advance(60)
            again = await start(client, "erin@example.com")  # the same code again
            assert again.status_code == 200 and again.json()["sendAttempts"] == 2
            assert code_of(sink.messages()[0].message) == code_of(sink.messages()[1].message)
            clock.advance(120)
            capped = await start(client, "erin@example.com")
            assert capped.status_code == 429 and capped.json()["code"] == "number_cap_reached"
            other = await start(client, "frank@example.com")  # another address: its own budget
            assert other.status_code == 201


async def test_an_address_the_server_refuses_fails_the_verification(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    with smtp_server() as (address, sink):
        sink.refuse = "550 5.1.1 No such user"
        async with provider_app(fake_twilio, smtp_url=f"smtp://{address}", email_from=FROM) as client:
            refused = await start(client, "ghost@example.com")
            assert refused.status_code == 502, refused.text
            assert "refused the address" in refused.json()["message"]
        assert sink.messages() == []


async def test_a_deferred_email_waits_in_the_outbox_with_the_queue_on(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    with smtp_server() as (address, sink):
        sink.refuse = "451 4.7.1 Try again later"
        settings = {"smtp_url": f"smtp://{address}", "email_from": FROM, "sms_queue_enabled": True}
        async with provider_app(fake_twilio, **settings) as client:
            started = await start(client, "henry@example.com")
            assert started.status_code == 201, started.text
            detail = (await client.get(f"/verify/{started.json()['id']}")).json()
            assert (detail["status"], detail["deliveryStatus"]) == ("pending", "queued")
        assert sink.messages() == []
