"""SPEC 9 through the HTTP API: one spelling per phone, one atomic budget on every send path."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from otpservice.clock import FakeClock
from tests.conftest import make_settings, running_app
from tests.verify.helpers import NUMBER, services

# Each a way to write +393371234567 (or junk) that must never reach a limit key or a provider.
SPELLINGS = [
    "+393371234567\n",
    "+393371234567\r\n",
    " +393371234567",
    "+393371234567 ",
    "+39 337 1234567",
    "+\u0663\u0669\u0663\u0663\u0667\u0661\u0662\u0663\u0664\u0665\u0666\u0667",  # Arabic-Indic digits
    "+\uff13\uff19\uff13\uff13\uff17\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # fullwidth digits
    "+3933712345670\n",
    "+393371234567\x00",
    "++393371234567",
    "+0393371234567",
    "+1234567890123456",
    "+393371234567\u200b",
    "393371234567",
]


class TickingClock(FakeClock):
    """Each reading is a second later: concurrent requests never meet the per-number delay,
    so that only the caps can hold them back."""

    def now(self) -> float:
        self.advance(1)
        return super().now()


def console_sends(client: httpx.AsyncClient, to: str = NUMBER) -> int:
    return sum(1 for message in services(client).provider.outbox if message["to"] == to)  # type: ignore[attr-defined]


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_every_other_spelling_is_refused_on_every_path(
    migrated_database_url: str, clock: FakeClock, spelling: str
) -> None:
    async with running_app(make_settings(migrated_database_url, service_provider="console"), clock=clock) as client:
        answers = [
            await client.post("/send", json={"receiver": spelling, "body": "hi", "sender": "ACME"}),
            await client.post("/send", json={"receiver": NUMBER, "body": "hi", "sender": spelling}),
            await client.post("/verify/start", json={"to": spelling}),
            await client.post("/verify/check", json={"to": spelling, "code": "123456"}),
        ]
        async with services(client).engine.connect() as connection:
            rows = (await connection.execute(text("SELECT count(*) FROM messages"))).scalar_one()
    assert [answer.status_code for answer in answers] == [400, 400, 400, 400]
    assert [answer.json()["code"] for answer in answers] == [
        "invalid_phone_number",
        "invalid_request",
        "invalid_phone_number",
        "invalid_phone_number",
    ]
    assert rows == 0 and console_sends(client, spelling) == 0


async def test_alphanumeric_sender_with_a_line_break_is_refused(app_client: Any) -> None:
    async with app_client(service_provider="console") as client:
        for sender in ("ACME\n", "ACME\r", "AC\u00c9ME", "ACME\t", "123456"):
            answer = await client.post("/send", json={"receiver": NUMBER, "body": "hi", "sender": sender})
            assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request"), sender


async def test_a_national_zero_is_stored_and_keyed_in_canonical_form(app_client: Any, clock: FakeClock) -> None:
    async with app_client(service_provider="console") as client:
        typed = await client.post("/verify/start", json={"to": "+4407911123456"})
        assert typed.status_code == 201 and typed.json()["to"] == "+447911123456"
        clock.advance(0.5)
        canonical = await client.post("/verify/start", json={"to": "+447911123456"})
    # the same phone: the same verification, and the same per-number delay
    assert (canonical.status_code, canonical.json()["code"]) == (429, "number_delayed")
    assert console_sends(client, "+447911123456") == 1


@pytest.mark.parametrize("route", ["/send", "/verify/start"])
async def test_concurrent_sends_never_pass_a_cap(
    limit_storage: dict[str, str], migrated_database_url: str, route: str
) -> None:
    limits = limit_storage
    settings = make_settings(
        migrated_database_url,
        service_provider="console",
        exponential_delay_base=0.01,
        exponential_delay_max=0.01,
        sms_max_per_number_hour=3,
        otp_max_sends_per_number_hour=3,
        otp_max_sends=50,
        **limits,
    )
    body = {"receiver": NUMBER, "body": "hello", "sender": "ACME"} if route == "/send" else {"to": NUMBER}
    async with running_app(settings, clock=TickingClock()) as client:
        answers = await asyncio.gather(*(client.post(route, json=body) for _ in range(20)))
        sent = console_sends(client)
    # Requests whose clock readings reach the storage out of order may meet the delay instead
    # (a later reading sent first); never more than the cap gets out.
    assert 1 <= sent <= 3
    assert sum(answer.status_code in (200, 201) for answer in answers) == sent
    refusals = {answer.json()["code"] for answer in answers if answer.status_code == 429}
    assert refusals <= {"number_cap_reached", "number_delayed"}
    assert sent < 3 or "number_cap_reached" in refusals


async def test_send_has_per_number_caps_and_a_country_list(app_client: Any, clock: FakeClock) -> None:
    async with app_client(
        service_provider="console", sms_max_per_number_hour=2, sms_allowed_countries="IT,FR"
    ) as client:
        payload = {"receiver": NUMBER, "body": "hi", "sender": "ACME"}
        codes = []
        for _ in range(3):
            answer = await client.post("/send", json=payload)
            codes.append(answer.json().get("code", answer.status_code))
            clock.advance(10)
        abroad = await client.post("/send", json={**payload, "receiver": "+447911123456"})
    assert codes == [200, 200, "number_cap_reached"]
    assert (abroad.status_code, abroad.json()["code"]) == (403, "country_not_allowed")


async def test_the_send_delay_reaches_its_cap_through_send(app_client: Any, clock: FakeClock) -> None:
    async with app_client(service_provider="console", rate_limit_max_requests=1000) as client:
        payload = {"receiver": NUMBER, "body": "hi", "sender": "ACME"}
        assert (await client.post("/send", json=payload)).status_code == 200
        waits = []
        for _ in range(11):
            refused = await client.post("/send", json=payload)
            assert refused.json()["code"] == "number_delayed"
            waits.append(int(refused.headers["Retry-After"]))
            clock.advance(waits[-1])
            assert (await client.post("/send", json=payload)).status_code == 200
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


async def test_a_resend_refused_before_the_provider_gives_its_delay_back(app_client: Any, clock: FakeClock) -> None:
    async with app_client(service_provider="console") as client:
        assert (await client.post("/verify/start", json={"to": NUMBER})).status_code == 201
        clock.advance(1)
        sms = services(client).sms
        sms._default_sender, sms._sender_optional = None, False  # the sender goes missing
        refused = await client.post("/verify/start", json={"to": NUMBER})
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_request")
        sms._sender_optional = True
        resent = await client.post("/verify/start", json={"to": NUMBER})
    assert resent.status_code == 200 and resent.json()["sendAttempts"] == 2
