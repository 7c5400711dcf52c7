"""POST /send through the whole app to the fake Twilio over a real socket."""

import base64
import re

import pytest

from tests.fakes import Reply, TwilioFake
from tests.fakes.fixtures import ProviderApp, fake_twilio, provider_app  # noqa: F401
from tests.fakes.twilio import API_KEY_SECRET, API_KEY_SID, AUTH_TOKEN, error_reply
from tests.providers.helpers import NUMBERS, assert_error

TO = NUMBERS[1]


def send(sender: str | None = "ACME", body: str = "hello") -> dict[str, str]:
    return {"receiver": TO, "body": body} | ({"sender": sender} if sender else {})


async def test_a_send_is_recorded_with_twilios_sid(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    async with provider_app(fake_twilio) as client:
        response = await client.post("/send", json=send())
        stored = await client.app.state.services.messages.get(response.json()["sid"])  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert re.fullmatch(r"SM[0-9a-f]{32}", response.json()["sid"])
    assert fake_twilio.sends[0].form == {"To": TO, "From": "ACME", "Body": "hello"}
    assert stored is not None and (stored.provider, stored.provider_status) == ("twilio", "queued")


@pytest.mark.parametrize(
    ("code", "status", "app_code"),
    [
        (21211, 400, "invalid_phone_number"),
        (21614, 400, "invalid_phone_number"),
        (21610, 403, "number_blocked"),
        (20003, 502, "provider_error"),
        (21408, 502, "provider_error"),
        (21608, 502, "provider_error"),
        (21617, 502, "provider_error"),
        (20500, 502, "provider_error"),
    ],
)
async def test_twilio_errors_reach_the_caller(
    fake_twilio: TwilioFake, provider_app: ProviderApp, code: int, status: int, app_code: str
) -> None:
    fake_twilio.fail_next(code, TO)
    async with provider_app(fake_twilio) as client:
        response = await client.post("/send", json=send())
    body = assert_error(response, status, app_code, AUTH_TOKEN)
    assert str(code) in body["message"]
    assert TO not in body["message"]


async def test_credentials_refused_says_so(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    async with provider_app(fake_twilio, twilio_auth_token="not-the-token-4242") as client:
        response = await client.post("/send", json=send())
    body = assert_error(response, 502, "provider_error", "not-the-token-4242", AUTH_TOKEN)
    assert "credentials" in body["message"]


@pytest.mark.parametrize(("retry_after", "expected"), [("5", "5"), (None, "1")])
async def test_throttling_is_429_with_retry_after(
    fake_twilio: TwilioFake, provider_app: ProviderApp, retry_after: str | None, expected: str
) -> None:
    fake_twilio.fail_next(20429, retry_after=retry_after)
    async with provider_app(fake_twilio) as client:
        response = await client.post("/send", json=send())
    assert_error(response, 429, "provider_rate_limited")
    assert response.headers["Retry-After"] == expected


async def test_messaging_service_without_sender_counts_segments_locally(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    service_sid = "MG" + "1" * 32
    async with provider_app(fake_twilio, twilio_messaging_service_sid=service_sid) as client:
        response = await client.post("/send", json=send(sender=None, body="x" * 200))
    assert response.status_code == 200, response.text
    assert response.json()["numSegments"] == "2"
    form = fake_twilio.sends[0].form
    assert form["MessagingServiceSid"] == service_sid and "From" not in form


async def test_the_segment_count_twilio_reports_wins(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    fake_twilio.push(Reply(201, json={"sid": "SM" + "e" * 32, "status": "queued", "num_segments": "3"}))
    async with provider_app(fake_twilio) as client:
        response = await client.post("/send", json=send())
    assert response.json()["numSegments"] == "3" and response.json()["sid"] == "SM" + "e" * 32


async def test_api_key_credentials(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    async with provider_app(
        fake_twilio, twilio_auth_token=None, twilio_api_key_sid=API_KEY_SID, twilio_api_key_secret=API_KEY_SECRET
    ) as client:
        response = await client.post("/send", json=send())
    assert response.status_code == 200, response.text
    encoded = fake_twilio.sends[0].headers["authorization"].removeprefix("Basic ")
    assert base64.b64decode(encoded).decode() == f"{API_KEY_SID}:{API_KEY_SECRET}"


async def test_a_scripted_error_applies_to_the_next_send_only(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    fake_twilio.push(error_reply(21610, TO))
    async with provider_app(fake_twilio) as client:
        assert (await client.post("/send", json=send())).status_code == 403
        assert (await client.post("/send", json={**send(), "receiver": NUMBERS[2]})).status_code == 200
    assert [request.form["To"] for request in fake_twilio.sends] == [TO, NUMBERS[2]]
