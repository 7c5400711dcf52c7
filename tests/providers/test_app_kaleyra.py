"""POST /send through the whole app to the fake Kaleyra over a real socket."""

from typing import Any

import pytest

from tests.fakes import KaleyraFake
from tests.fakes.fixtures import ProviderApp, fake_kaleyra, provider_app  # noqa: F401
from tests.fakes.kaleyra import API_KEY, SID
from tests.providers.helpers import NUMBERS, assert_error

TO = NUMBERS[3]
SEND = {"sender": "ACME", "receiver": TO, "body": "hello"}


async def test_a_send_posts_the_form_with_the_api_key(fake_kaleyra: KaleyraFake, provider_app: ProviderApp) -> None:
    async with provider_app(fake_kaleyra) as client:
        response = await client.post("/send", json=SEND)
    assert response.status_code == 200, response.text
    [sent] = fake_kaleyra.sends
    assert sent.path == f"/v1/{SID}/messages" and sent.headers["api-key"] == API_KEY
    assert sent.form == {"to": TO, "sender": "ACME", "body": "hello", "type": "TXN"}
    assert response.json()["sid"].endswith(":1")


@pytest.mark.parametrize(
    ("reply", "status", "app_code"),
    [
        (
            {"status": 400, "code": "E413", "message": "Invalid mobile number", "envelope": "fields"},
            400,
            "invalid_phone_number",
        ),
        (
            {"status": 400, "code": "E413", "message": "Invalid recipient number", "envelope": "top"},
            400,
            "invalid_phone_number",
        ),
        ({"status": 400, "code": "E422", "message": "Number is in DND", "envelope": "nested"}, 403, "number_blocked"),
        ({"status": 402, "code": "E402", "message": "Insufficient balance"}, 402, "insufficient_balance"),
        ({"status": 503, "message": "<html>Service Unavailable</html>", "envelope": "text"}, 502, "provider_error"),
        ({"status": 400, "code": "E400", "message": "Template not approved"}, 502, "provider_error"),
    ],
)
async def test_kaleyra_errors_reach_the_caller(
    fake_kaleyra: KaleyraFake, provider_app: ProviderApp, reply: dict[str, Any], status: int, app_code: str
) -> None:
    fake_kaleyra.fail_next(**reply)
    async with provider_app(fake_kaleyra) as client:
        response = await client.post("/send", json=SEND)
    assert_error(response, status, app_code, API_KEY)
    assert len(fake_kaleyra.sends) == 1


async def test_the_rejection_names_kaleyras_code(fake_kaleyra: KaleyraFake, provider_app: ProviderApp) -> None:
    fake_kaleyra.fail_next(400, "E651", "Sender id not registered")
    async with provider_app(fake_kaleyra) as client:
        response = await client.post("/send", json=SEND)
    assert "E651" in assert_error(response, 502, "provider_error")["message"]


async def test_throttling_is_429_with_kaleyras_retry_after(
    fake_kaleyra: KaleyraFake, provider_app: ProviderApp
) -> None:
    fake_kaleyra.fail_next(429, "E429", "Too many requests", envelope="top", headers={"Retry-After": "3"})
    async with provider_app(fake_kaleyra) as client:
        response = await client.post("/send", json=SEND)
    assert_error(response, 429, "provider_rate_limited")
    assert response.headers["Retry-After"] == "3"


async def test_an_unknown_balance_does_not_block(fake_kaleyra: KaleyraFake, provider_app: ProviderApp) -> None:
    fake_kaleyra.balance = None
    async with provider_app(fake_kaleyra, kaleyra_empty_balance_check=True) as client:
        response = await client.post("/send", json=SEND)
    assert response.status_code == 200, response.text
    assert len(fake_kaleyra.balance_reads) == 1 and len(fake_kaleyra.sends) == 1
    assert fake_kaleyra.balance_reads[0].path == f"/v1/{SID}/billing/balance"
