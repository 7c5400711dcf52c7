"""POST /send through the whole app to each fake provider over a real socket."""

from typing import Any

import httpx
import pytest

from tests.fakes import FakeProvider, Reply
from tests.fakes.fixtures import ProviderApp, fake_provider, provider_app  # noqa: F401
from tests.providers.helpers import NUMBERS, assert_error as assert_error_body

SERVER_ERRORS = {
    "twilio": Reply(503, json={"code": 20500, "message": "Internal error", "status": 503}),
    "kaleyra": Reply(500, json={"code": "E500", "message": "Internal error", "error": {}}),
    "vonage": Reply(500, text="Internal Server Error"),
}


def payload(index: int = 0, body: str = "Your code is 123456") -> dict[str, Any]:
    return {"sender": "ACME", "receiver": NUMBERS[index], "body": body}


def secrets_of(fake: FakeProvider) -> list[str]:
    keys = ("twilio_auth_token", "kaleyra_api_key", "vonage_api_secret")
    return [str(value) for name, value in fake.settings().items() if name in keys]


def assert_error(response: httpx.Response, status: int, code: str, fake: FakeProvider) -> dict[str, Any]:
    return assert_error_body(response, status, code, *secrets_of(fake))


async def test_send_reaches_the_provider(fake_provider: FakeProvider, provider_app: ProviderApp) -> None:
    async with provider_app(fake_provider) as client:
        response = await client.post("/send", json=payload(1))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"dateEvent", "numSegments", "sid", "status"}
    assert (body["status"], body["numSegments"]) == ("sent", "1")
    [sent] = fake_provider.sends
    assert NUMBERS[1].lstrip("+") in str(sent.form)
    assert "Your code is 123456" in sent.form.values()
    assert body["sid"]


async def test_provider_5xx_is_502(fake_provider: FakeProvider, provider_app: ProviderApp) -> None:
    if fake_provider.name == "vonage":
        fake_provider.push(
            Reply(200, json={"message-count": "1", "messages": [{"status": "5", "error-text": "Internal Error"}]})
        )
    else:
        fake_provider.push(SERVER_ERRORS[fake_provider.name])
    async with provider_app(fake_provider) as client:
        response = await client.post("/send", json=payload())
    assert_error(response, 502, "provider_error", fake_provider)
    assert len(fake_provider.sends) == 1


async def test_refused_connection_is_502(fake_provider: FakeProvider, provider_app: ProviderApp) -> None:
    fake_provider.stop()
    async with provider_app(fake_provider) as client:
        response = await client.post("/send", json=payload())
    body = assert_error(response, 502, "provider_error", fake_provider)
    assert "unreachable" in body["message"]


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_slow_provider_is_504_within_the_timeout(
    fake_provider: FakeProvider, provider_app: ProviderApp, transport: str
) -> None:
    fake_provider.delay = 1.5
    async with provider_app(fake_provider, provider_timeout=0.3, provider_http_transport=transport) as client:
        response = await client.post("/send", json=payload())
    assert_error(response, 504, "provider_error", fake_provider)


async def test_aiohttp_transport_sends_and_reports_refusal(
    fake_provider: FakeProvider, provider_app: ProviderApp
) -> None:
    async with provider_app(fake_provider, provider_http_transport="aiohttp") as client:
        assert (await client.post("/send", json=payload(0))).status_code == 200
        fake_provider.stop()
        response = await client.post("/send", json=payload(1))
    assert_error(response, 502, "provider_error", fake_provider)
    assert len(fake_provider.sends) == 1


@pytest.mark.parametrize("balance", ["0", "0.00", "-2.5"])
async def test_empty_balance_refuses_without_sending(
    fake_provider: FakeProvider, provider_app: ProviderApp, balance: str
) -> None:
    fake_provider.balance = balance
    check = {f"{fake_provider.name}_empty_balance_check": True}
    async with provider_app(fake_provider, **check) as client:
        response = await client.post("/send", json=payload())
    assert_error(response, 402, "insufficient_balance", fake_provider)
    assert fake_provider.sends == []
    assert len(fake_provider.balance_reads) == 1


async def test_funded_balance_lets_the_send_through(fake_provider: FakeProvider, provider_app: ProviderApp) -> None:
    fake_provider.balance = "0.05"
    async with provider_app(fake_provider, **{f"{fake_provider.name}_empty_balance_check": True}) as client:
        response = await client.post("/send", json=payload())
    assert response.status_code == 200, response.text
    assert len(fake_provider.balance_reads) == 1 and len(fake_provider.sends) == 1


async def test_balance_is_not_read_when_the_check_is_off(
    fake_provider: FakeProvider, provider_app: ProviderApp
) -> None:
    fake_provider.balance = "0"
    async with provider_app(fake_provider) as client:
        assert (await client.post("/send", json=payload())).status_code == 200
    assert fake_provider.balance_reads == []


async def test_wrong_credentials_are_refused_without_echoing_them(
    fake_provider: FakeProvider, provider_app: ProviderApp
) -> None:
    wrong = "Wr0ngCredentialValue"
    field = {"twilio": "twilio_auth_token", "kaleyra": "kaleyra_api_key", "vonage": "vonage_api_secret"}
    async with provider_app(fake_provider, **{field[fake_provider.name]: wrong}) as client:
        response = await client.post("/send", json=payload())
    body = assert_error(response, 502, "provider_error", fake_provider)
    assert "credentials" in body["message"] and wrong not in response.text
    assert len(fake_provider.sends) == 1
