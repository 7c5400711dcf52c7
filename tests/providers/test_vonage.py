"""VonageProvider alone, over httpx.MockTransport: request shape, per-entry statuses."""

import base64
from decimal import Decimal
from typing import Any

import pytest

from otpservice.api.errors import response_headers
from otpservice.errors import (
    ProviderCredentialsRefused,
    ProviderError,
    ProviderInsufficientBalance,
    ProviderInvalidNumber,
    ProviderNumberBlocked,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from otpservice.providers.base import OutgoingSms
from otpservice.providers.vonage import VonageConfig, VonageProvider
from tests.providers.helpers import Script

SECRET = "vonage-secret-XYZ"
SMS = OutgoingSms(receiver="+447911123456", body="hi", sender="ACME")


def ok(count: int = 1) -> dict[str, Any]:
    return {
        "message-count": str(count),
        "messages": [
            {"to": "447911123456", "message-id": f"id-{index}", "status": "0", "remaining-balance": "3.1"}
            for index in range(count)
        ],
    }


def failed(status: str, text: str) -> dict[str, Any]:
    return {"message-count": "1", "messages": [{"status": status, "error-text": text}]}


def vonage(script: Script) -> VonageProvider:
    config = VonageConfig(base_url="https://vonage.test/", api_key="key1", api_secret=SECRET)
    return VonageProvider(config, script.client())


async def test_send_posts_credentials_and_the_number_without_plus() -> None:
    script = Script()
    script.reply(200, json=ok(2))
    receipt = await vonage(script).send(SMS)
    assert str(script.requests[0].url) == "https://vonage.test/sms/json"
    assert script.form() == {
        "api_key": "key1",
        "api_secret": SECRET,
        "from": "ACME",
        "to": "447911123456",
        "text": "hi",
    }
    assert (receipt.sid, receipt.segments) == ("id-0", 2)


async def test_unicode_type_callback_and_client_ref() -> None:
    script = Script()
    script.reply(200, json=ok())
    script.reply(200, json=ok())
    provider = vonage(script)
    await provider.send(
        OutgoingSms(
            receiver="+447911123456",
            body="Привет",
            sender="+15005550006",
            status_callback="https://otp.example.com/webhooks/vonage/dlr?token=t",
            client_ref="MS123",
        )
    )
    await provider.send(OutgoingSms(receiver="+447911123456", body="Café €5 {ok}", sender="ACME"))
    first, second = script.form(0), script.form(1)
    assert first["type"] == "unicode" and first["from"] == "15005550006"
    assert first["callback"] == "https://otp.example.com/webhooks/vonage/dlr?token=t"
    assert first["client-ref"] == "MS123"
    assert "type" not in second and "callback" not in second and "client-ref" not in second


@pytest.mark.parametrize(
    ("status", "text", "error", "in_message"),
    [
        ("1", "Throughput Rate Exceeded", ProviderRateLimited, "status 1"),
        ("2", "Missing to param", ProviderInvalidNumber, "status 2"),
        ("3", "Invalid to param", ProviderInvalidNumber, "status 3"),
        ("3", "Invalid from param", ProviderRejected, "status 3"),
        ("3", "Invalid Message type", ProviderRejected, "status 3"),
        ("4", "Bad Credentials", ProviderCredentialsRefused, "credentials"),
        ("5", "Internal Error", ProviderUnavailable, "status 5"),
        ("6", "Invalid Message", ProviderRejected, "status 6"),
        ("7", "Number barred.", ProviderNumberBlocked, "status 7"),
        ("8", "Partner account barred.", ProviderRejected, "account barred"),
        ("9", "Partner quota exceeded.", ProviderInsufficientBalance, "status 9"),
        ("15", "Illegal Sender Address - rejected", ProviderRejected, "invalid sender"),
        ("29", "Non White-listed Destination - rejected", ProviderRejected, "non-whitelisted"),
        ("99", "Something new", ProviderRejected, "status 99"),
    ],
)
async def test_statuses_are_mapped(status: str, text: str, error: type[ProviderError], in_message: str) -> None:
    script = Script()
    script.reply(200, json=failed(status, text))
    with pytest.raises(error) as raised:
        await vonage(script).send(SMS)
    assert type(raised.value) is error
    assert in_message in raised.value.message
    assert SECRET not in raised.value.message


async def test_a_failed_entry_after_an_accepted_one_fails_the_send() -> None:
    script = Script()
    body = ok(2)
    body["messages"][1] = {"status": "9", "error-text": "Partner quota exceeded."}
    script.reply(200, json=body)
    with pytest.raises(ProviderInsufficientBalance):
        await vonage(script).send(SMS)


async def test_throttling_says_retry_after_one_second() -> None:
    script = Script()
    script.reply(200, json=failed("1", "Throughput Rate Exceeded"))
    with pytest.raises(ProviderRateLimited) as raised:
        await vonage(script).send(SMS)
    assert response_headers(raised.value)["Retry-After"] == "1"


@pytest.mark.parametrize(
    "body",
    [
        {"message-count": "0", "messages": []},
        "<html>oops</html>",
        {"message-count": "1", "messages": [{"status": "0"}]},
    ],
)
async def test_an_unreadable_200_counts_as_sent_with_an_unknown_id(body: Any) -> None:
    script = Script()
    if isinstance(body, dict):
        script.reply(200, json=body)
    else:
        script.reply(200, text=body)
    assert (await vonage(script).send(SMS)).sid is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"error": "unauthorized"}, ProviderCredentialsRefused),
        (503, "busy", ProviderUnavailable),
    ],
)
async def test_odd_answers(status: int, body: Any, error: type[ProviderError]) -> None:
    script = Script()
    if isinstance(body, dict):
        script.reply(status, json=body)
    else:
        script.reply(status, text=body)
    with pytest.raises(error):
        await vonage(script).send(SMS)


async def test_balance_uses_basic_auth_and_keeps_the_secret_out_of_the_url() -> None:
    script = Script()
    script.reply(200, json={"value": 10.17, "autoReload": False})
    script.reply(200, json={"value": -0.5})
    script.reply(401, json={"error-code": "401"})
    provider = vonage(script)
    assert await provider.balance() == Decimal("10.17")
    request = script.requests[0]
    assert str(request.url) == "https://vonage.test/account/get-balance"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"key1:{SECRET}".encode()).decode()
    assert await provider.balance() == Decimal("-0.5")
    with pytest.raises(ProviderCredentialsRefused):
        await provider.balance()
