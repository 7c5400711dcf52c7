"""POST /send through the whole app to the fake Vonage over a real socket."""

import logging

import pytest

from tests.fakes import Reply, VonageFake
from tests.fakes.fixtures import ProviderApp, fake_vonage, provider_app  # noqa: F401
from tests.fakes.vonage import API_KEY, API_SECRET
from tests.providers.helpers import NUMBERS, assert_error

TO = NUMBERS[2]
SEND = {"sender": "ACME", "receiver": TO, "body": "hello"}


async def test_a_send_posts_credentials_and_the_bare_number(fake_vonage: VonageFake, provider_app: ProviderApp) -> None:
    async with provider_app(fake_vonage) as client:
        response = await client.post("/send", json={**SEND, "body": "Код: 123456"})
    assert response.status_code == 200, response.text
    [sent] = fake_vonage.sends
    client_ref = sent.form.get("client-ref", "")
    assert sent.form == {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "from": "ACME",
        "to": TO.lstrip("+"),
        "text": "Код: 123456",
        "type": "unicode",
        "client-ref": client_ref,
    }
    assert client_ref.startswith("MS") and len(client_ref) == 34  # our message id
    assert response.json()["numSegments"] == "1"


async def test_the_message_count_vonage_reports_wins(fake_vonage: VonageFake, provider_app: ProviderApp) -> None:
    fake_vonage.push(
        Reply(
            200,
            json={
                "message-count": "3",
                "messages": [{"to": TO.lstrip("+"), "message-id": f"ID{index}", "status": "0"} for index in range(3)],
            },
        )
    )
    async with provider_app(fake_vonage) as client:
        response = await client.post("/send", json=SEND)
    assert (response.json()["numSegments"], response.json()["sid"]) == ("3", "ID0")


@pytest.mark.parametrize(
    ("status", "http_status", "app_code", "in_message"),
    [
        ("3", 400, "invalid_phone_number", "status 3"),
        ("7", 403, "number_blocked", "status 7"),
        ("9", 402, "insufficient_balance", "status 9"),
        ("4", 502, "provider_error", "credentials"),
        ("5", 502, "provider_error", "status 5"),
        ("8", 502, "provider_error", "account barred"),
        ("15", 502, "provider_error", "sender"),
        ("29", 502, "provider_error", "non-whitelisted"),
    ],
)
async def test_vonage_statuses_reach_the_caller(
    fake_vonage: VonageFake, provider_app: ProviderApp, status: str, http_status: int, app_code: str, in_message: str
) -> None:
    fake_vonage.fail_next(status, to=TO.lstrip("+"))
    async with provider_app(fake_vonage) as client:
        response = await client.post("/send", json=SEND)
    body = assert_error(response, http_status, app_code, API_SECRET)
    assert in_message in body["message"]


async def test_throttling_is_429_with_retry_after_one(fake_vonage: VonageFake, provider_app: ProviderApp) -> None:
    fake_vonage.fail_next("1")
    async with provider_app(fake_vonage) as client:
        response = await client.post("/send", json=SEND)
    assert_error(response, 429, "provider_rate_limited")
    assert response.headers["Retry-After"] == "1"


async def test_logs_hold_neither_the_secret_nor_the_full_number(
    fake_vonage: VonageFake, provider_app: ProviderApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_vonage.fail_next("7")
    fake_vonage.balance = "5"
    async with provider_app(fake_vonage, vonage_empty_balance_check=True) as client:
        assert (await client.post("/send", json=SEND)).status_code == 403
        assert (await client.post("/send", json={**SEND, "receiver": NUMBERS[4]})).status_code == 200
    assert len(fake_vonage.balance_reads) == 1 and len(fake_vonage.sends) == 2
    # aiosqlite's own DEBUG lines show SQL parameters (full numbers): outside this check.
    records = [record for record in caplog.records if record.name != "aiosqlite"]
    assert any(record.name.startswith("otpservice") for record in records)
    for record in records:
        logged = record.getMessage() + " " + " ".join(str(value) for value in record.__dict__.values())
        assert API_SECRET not in logged
        assert TO not in logged and TO.lstrip("+") not in logged and NUMBERS[4] not in logged
