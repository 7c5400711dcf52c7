"""KaleyraProvider alone, over httpx.MockTransport: request shape, both error envelopes."""

import json
from decimal import Decimal
from typing import Any

import pytest

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
from otpservice.providers.kaleyra import KaleyraConfig, KaleyraProvider
from tests.providers.helpers import Script

API_KEY = "kaleyra-key-secret-1"
ACCEPTED = {
    "id": "batch-1",
    "sender": "ACME",
    "type": "TXN",
    "body": "hi",
    "totalCount": 1,
    "data": [{"message_id": "batch-1:1", "recipient": "919812345678"}],
    "dlrurl": None,
    "error": {},
}
SMS = OutgoingSms(receiver="+919812345678", body="hi", sender="ACME")


def kaleyra(script: Script, **overrides: Any) -> KaleyraProvider:
    config = KaleyraConfig(**{"sid": "HX123", "api_key": API_KEY, "base_url": "https://kaleyra.test", **overrides})
    return KaleyraProvider(config, script.client())


async def test_send_posts_the_form_with_the_api_key_header() -> None:
    script = Script()
    script.reply(202, json=ACCEPTED)
    receipt = await kaleyra(script).send(SMS)
    request = script.requests[0]
    assert (request.method, str(request.url)) == ("POST", "https://kaleyra.test/v1/HX123/messages")
    assert request.headers["api-key"] == API_KEY
    assert script.form() == {"to": "+919812345678", "sender": "ACME", "body": "hi", "type": "TXN"}
    assert (receipt.sid, receipt.segments) == ("batch-1:1", None)


async def test_callback_is_a_url_object_when_given() -> None:
    script = Script()
    script.reply(202, json=ACCEPTED)
    url = "https://otp.example.com/webhooks/kaleyra/dlr?token=t"
    await kaleyra(script).send(OutgoingSms(receiver="+919812345678", body="hi", sender="ACME", status_callback=url))
    assert json.loads(script.form()["callback"]) == {"url": url, "method": "POST"}


async def test_the_batch_id_stands_in_when_data_is_missing() -> None:
    script = Script()
    script.reply(202, json={**ACCEPTED, "data": []})
    script.reply(202, json={"data": [], "error": {}})
    provider = kaleyra(script)
    assert (await provider.send(SMS)).sid == "batch-1"
    # A 2xx without any id: the provider may have taken it, so it counts as sent, id unknown.
    assert (await provider.send(SMS)).sid is None


def nested(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "data": [], "error": {"code": code, "message": message}}


def top(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "data": [], "error": {}}


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, nested("E413", "Invalid mobile number"), ProviderInvalidNumber),
        (400, top("E413", "Invalid recipient"), ProviderInvalidNumber),
        (
            400,
            {"code": "E400", "message": "Bad request", "error": {"to": "Invalid number format"}},
            ProviderInvalidNumber,
        ),
        (400, nested("E422", "Number is in DND list"), ProviderNumberBlocked),
        (400, top("E415", "Recipient has opted out"), ProviderNumberBlocked),
        (401, top("E401", "Unauthorized"), ProviderCredentialsRefused),
        (400, nested("E101", "Invalid API key"), ProviderCredentialsRefused),
        (429, top("E429", "Too many requests"), ProviderRateLimited),
        (400, nested("E900", "Request throttled"), ProviderRateLimited),
        (402, top("E402", "Payment required"), ProviderInsufficientBalance),
        (400, nested("E300", "Insufficient balance"), ProviderInsufficientBalance),
        (500, nested("E500", "Internal error"), ProviderUnavailable),
        (400, nested("E411", "Invalid sender number"), ProviderRejected),
        (400, {"code": "E400", "error": {"sender": "Sender not approved"}}, ProviderRejected),
        (400, top("E400", "Template mismatch"), ProviderRejected),
    ],
)
async def test_kaleyra_errors_are_mapped(status: int, body: dict[str, Any], error: type[ProviderError]) -> None:
    script = Script()
    script.reply(status, json=body)
    with pytest.raises(error) as raised:
        await kaleyra(script).send(SMS)
    assert type(raised.value) is error
    assert API_KEY not in raised.value.message


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (502, ProviderUnavailable),
        (401, ProviderCredentialsRefused),
        (400, ProviderRejected),
        (429, ProviderRateLimited),
    ],
)
async def test_a_body_that_is_not_json_never_crashes(status: int, error: type[ProviderError]) -> None:
    script = Script()
    script.reply(status, text="<html><body>Bad Gateway</body></html>")
    with pytest.raises(error):
        await kaleyra(script).send(SMS)


async def test_rejection_message_carries_kaleyras_code_with_the_number_masked() -> None:
    script = Script()
    script.reply(400, json=nested("E777", "Template not approved for 919812345678"))
    with pytest.raises(ProviderRejected) as raised:
        await kaleyra(script).send(SMS)
    assert "E777" in raised.value.message
    assert "919812345678" not in raised.value.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"balance": "12.50", "currency": "INR"}, Decimal("12.50")),
        ({"balance": 0}, Decimal("0")),
        ({"data": {"balance": "-3"}}, Decimal("-3")),
        ({"data": [{"balance": "4.2"}]}, Decimal("4.2")),
        ({"currency": "INR"}, None),
        ({"balance": "n/a"}, None),
    ],
)
async def test_balance(body: dict[str, Any], expected: Decimal | None) -> None:
    script = Script()
    script.reply(200, json=body)
    assert await kaleyra(script, balance_path="/v2/{sid}/balance").balance() == expected
    assert str(script.requests[0].url) == "https://kaleyra.test/v2/HX123/balance"
    assert script.requests[0].headers["api-key"] == API_KEY
