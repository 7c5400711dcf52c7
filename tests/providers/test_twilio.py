"""TwilioProvider alone, over httpx.MockTransport: request shape, answers, error mapping."""

import base64
from decimal import Decimal
from typing import Any

import pytest

from otpservice.errors import (
    ProviderCredentialsRefused,
    ProviderError,
    ProviderInvalidNumber,
    ProviderNumberBlocked,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from otpservice.providers.base import OutgoingSms
from otpservice.providers.twilio import TwilioConfig, TwilioProvider
from tests.providers.helpers import Script

SID = "AC" + "a" * 32
TOKEN = "token-secret-123"
CREATED = {"sid": "SM" + "b" * 32, "status": "queued", "num_segments": "2"}


def twilio(script: Script, **overrides: Any) -> TwilioProvider:
    config = TwilioConfig(**{"account_sid": SID, "auth_token": TOKEN, "base_url": "https://twilio.test/", **overrides})
    return TwilioProvider(config, script.client())


def login(script: Script) -> str:
    scheme, encoded = script.requests[-1].headers["Authorization"].split()
    assert scheme == "Basic"
    return base64.b64decode(encoded).decode()


def envelope(code: int, status: int, message: str = "boom") -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


async def test_send_posts_the_form_with_basic_auth() -> None:
    script = Script()
    script.reply(201, json=CREATED)
    receipt = await twilio(script).send(OutgoingSms(receiver="+14155552671", body="hello", sender="ACME"))
    request = script.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"https://twilio.test/2010-04-01/Accounts/{SID}/Messages.json"
    assert script.form() == {"To": "+14155552671", "From": "ACME", "Body": "hello"}
    assert login(script) == f"{SID}:{TOKEN}"
    assert (receipt.sid, receipt.provider_status, receipt.segments) == (CREATED["sid"], "queued", 2)


async def test_api_key_is_preferred_to_the_auth_token() -> None:
    script = Script()
    script.reply(201, json=CREATED)
    provider = twilio(script, api_key_sid="SK" + "c" * 32, api_key_secret="key-secret")
    await provider.send(OutgoingSms(receiver="+14155552671", body="hi", sender="ACME"))
    assert login(script) == "SK" + "c" * 32 + ":key-secret"
    assert SID in str(script.requests[0].url)


async def test_messaging_service_is_used_without_a_sender_and_segments_zero_is_unknown() -> None:
    script = Script()
    script.reply(201, json={**CREATED, "status": "accepted", "num_segments": "0"})
    script.reply(201, json=CREATED)
    provider = twilio(script, messaging_service_sid="MG" + "d" * 32)
    receipt = await provider.send(OutgoingSms(receiver="+14155552671", body="hi"))
    assert script.form(0) == {"To": "+14155552671", "Body": "hi", "MessagingServiceSid": "MG" + "d" * 32}
    assert (receipt.provider_status, receipt.segments) == ("accepted", None)
    await provider.send(OutgoingSms(receiver="+14155552671", body="hi", sender="+15005550006"))
    assert script.form(1) == {"To": "+14155552671", "Body": "hi", "From": "+15005550006"}


async def test_status_callback_is_sent_only_when_given() -> None:
    script = Script()
    script.reply(201, json=CREATED)
    script.reply(201, json=CREATED)
    provider = twilio(script)
    await provider.send(
        OutgoingSms(
            receiver="+14155552671",
            body="hi",
            sender="ACME",
            status_callback="https://otp.example.com/webhooks/twilio/status",
        )
    )
    await provider.send(OutgoingSms(receiver="+14155552671", body="hi", sender="ACME"))
    assert script.form(0)["StatusCallback"] == "https://otp.example.com/webhooks/twilio/status"
    assert "StatusCallback" not in script.form(1)


@pytest.mark.parametrize(
    ("status", "code", "error", "in_message"),
    [
        (400, 21211, ProviderInvalidNumber, "21211"),
        (400, 21614, ProviderInvalidNumber, "21614"),
        (400, 21610, ProviderNumberBlocked, "21610"),
        (401, 20003, ProviderCredentialsRefused, "credentials"),
        (429, 20429, ProviderRateLimited, "20429"),
        (500, 20500, ProviderUnavailable, "500"),
        (400, 21408, ProviderRejected, "21408"),
        (400, 21608, ProviderRejected, "21608"),
        (400, 21617, ProviderRejected, "21617"),
    ],
)
async def test_twilio_errors_are_mapped(status: int, code: int, error: type[ProviderError], in_message: str) -> None:
    script = Script()
    script.reply(status, json=envelope(code, status))
    with pytest.raises(error) as raised:
        await twilio(script).send(OutgoingSms(receiver="+14155552671", body="hi", sender="ACME"))
    assert type(raised.value) is error
    assert in_message in raised.value.message


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (503, "<html>Service Unavailable</html>", ProviderUnavailable),
        (401, "", ProviderCredentialsRefused),
        (403, "", ProviderCredentialsRefused),
        (429, "", ProviderRateLimited),
        (404, "not json", ProviderRejected),
    ],
)
async def test_errors_without_a_twilio_envelope(status: int, body: str, error: type[ProviderError]) -> None:
    script = Script()
    script.reply(status, text=body)
    with pytest.raises(error):
        await twilio(script).send(OutgoingSms(receiver="+14155552671", body="hi", sender="ACME"))


async def test_rate_limit_keeps_twilios_retry_after_or_says_one() -> None:
    script = Script()
    script.reply(429, json=envelope(20429, 429), headers={"Retry-After": "7"})
    script.reply(429, json=envelope(20429, 429))
    provider = twilio(script)
    sms = OutgoingSms(receiver="+14155552671", body="hi", sender="ACME")
    for expected in (7, 1):
        with pytest.raises(ProviderRateLimited) as raised:
            await provider.send(sms)
        assert raised.value.retry_after == expected


async def test_messages_never_echo_the_token_nor_the_full_number() -> None:
    script = Script()
    script.reply(401, json=envelope(20003, 401, f"Authenticate {TOKEN}"))
    script.reply(400, json=envelope(21408, 400, "Permission to send an SMS has not been enabled for +14155552671"))
    provider = twilio(script)
    sms = OutgoingSms(receiver="+14155552671", body="hi", sender="ACME")
    with pytest.raises(ProviderCredentialsRefused) as refused:
        await provider.send(sms)
    with pytest.raises(ProviderRejected) as rejected:
        await provider.send(sms)
    assert TOKEN not in refused.value.message
    assert "+14155552671" not in rejected.value.message and "2671" in rejected.value.message


async def test_a_success_without_sid_counts_as_sent_with_an_unknown_id() -> None:
    script = Script()
    script.reply(201, text="<html>captive portal</html>")
    script.reply(201, json={"sid": "SM" + "x" * 200, "status": "queued\x00<b>"})
    for _ in range(2):  # may have been sent: never retried, so no error either
        receipt = await twilio(script).send(OutgoingSms(receiver="+14155552671", body="hi", sender="ACME"))
        assert (receipt.sid, receipt.provider_status) == (None, "unknown")


async def test_balance_reads_the_string_as_decimal() -> None:
    script = Script()
    script.reply(200, json={"account_sid": SID, "balance": "0.05", "currency": "USD"})
    script.reply(200, json={"account_sid": SID})
    script.reply(401, json=envelope(20003, 401))
    provider = twilio(script)
    assert await provider.balance() == Decimal("0.05")
    assert str(script.requests[0].url) == f"https://twilio.test/2010-04-01/Accounts/{SID}/Balance.json"
    assert login(script) == f"{SID}:{TOKEN}"
    assert await provider.balance() is None
    with pytest.raises(ProviderCredentialsRefused):
        await provider.balance()
