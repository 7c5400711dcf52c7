"""POST /verify/start: new and re-sent verifications, send limits, delay, refusals."""

import re
from datetime import datetime
from typing import Any

import pytest

from otpservice.clock import FakeClock
from tests.conftest import AppFactory
from tests.verify.helpers import NUMBER, OTHER_NUMBER, last_code, sent_bodies, services, start, verification_rows

START_FIELDS = {
    "id",
    "to",
    "channel",
    "status",
    "expiresAt",
    "sendAttempts",
    "canResendAt",
    "checkAttemptsLeft",
    "locale",
}


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


async def test_start_creates_a_pending_verification(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        response = await start(client)
        assert response.status_code == 201
        body = response.json()
        assert set(body) == START_FIELDS
        assert re.fullmatch(r"VE[0-9a-f]{32}", body["id"])
        assert (body["to"], body["channel"], body["status"]) == (NUMBER, "sms", "pending")
        assert (body["sendAttempts"], body["checkAttemptsLeft"]) == (1, 5)
        assert body["expiresAt"] == "2027-01-15T08:10:00.000Z"  # FakeClock start + OTP_TTL (600 s)
        assert body["canResendAt"] == "2027-01-15T08:00:01.000Z"  # + EXPONENTIAL_DELAY_BASE
        assert len(last_code(client)) == 6
        assert "X-RateLimit-Remaining" in response.headers


async def test_resend_sends_the_same_code_and_keeps_the_expiry(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app() as client:
        first = (await start(client)).json()
        code = last_code(client)
        clock.advance(30)
        again = await start(client)
        assert again.status_code == 200
        assert again.json()["id"] == first["id"]
        assert again.json()["expiresAt"] == first["expiresAt"]
        assert again.json()["sendAttempts"] == 2
        assert len(sent_bodies(client)) == 2 and last_code(client) == code


async def test_can_resend_at_follows_the_number_delay(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(exponential_delay_base=10) as client:
        first = (await start(client)).json()
        assert seconds_between(first["expiresAt"], first["canResendAt"]) == 10 - 600
        clock.advance(10)
        second = (await start(client)).json()
        assert second["canResendAt"] == "2027-01-15T08:00:30.000Z"  # sent at +10, then waits 2 x 10 s
        clock.advance(19)
        too_early = await start(client)
        assert too_early.status_code == 429 and too_early.json()["code"] == "number_delayed"
        assert too_early.headers["Retry-After"] == "1"
        clock.advance(1)
        assert (await start(client)).json()["sendAttempts"] == 3


async def test_more_than_max_sends_is_refused_until_expiry(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(otp_max_sends=2) as client:
        await start(client)
        clock.advance(5)
        assert (await start(client)).status_code == 200
        clock.advance(95)
        refused = await start(client)
        assert refused.status_code == 429
        assert refused.json()["code"] == "max_sends_reached"
        assert refused.headers["Retry-After"] == "500"  # to expiresAt
        assert len(sent_bodies(client)) == 2


async def test_a_start_refused_by_the_delay_leaves_nothing(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(sms_default_sender="ACME") as client:
        assert (await client.post("/send", json={"receiver": NUMBER, "body": "hello"})).status_code == 200
        delayed = await start(client)
        assert delayed.status_code == 429 and delayed.json()["code"] == "number_delayed"
        assert await verification_rows(client) == []
        clock.advance(1)
        created = await start(client)
        assert created.status_code == 201 and created.json()["sendAttempts"] == 1


async def test_a_resend_refused_by_the_delay_is_not_counted(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(exponential_delay_base=10) as client:
        await start(client)
        assert (await start(client)).status_code == 429
        clock.advance(10)
        assert (await start(client)).json()["sendAttempts"] == 2


async def test_sms_uses_the_default_sender(verify_app: AppFactory) -> None:
    async with verify_app(sms_default_sender="ACME") as client:
        await start(client)
        assert services(client).provider.outbox[0]["from"] == "ACME"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"to": "3331234567"}, 400, "invalid_phone_number"),
        ({"to": "+3933312"}, 400, "invalid_phone_number"),
        ({"to": 393331234567}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"to": NUMBER, "channel": "fax"}, 400, "invalid_request"),
        ({"to": NUMBER, "channel": "email"}, 400, "channel_unavailable"),
        ({"to": NUMBER, "channel": "sms", "fallback": ["call", "whatsapp"]}, 400, "invalid_request"),
        ({"to": NUMBER, "extra": True}, 400, "invalid_request"),
        ({"to": NUMBER, "appHash": "short"}, 400, "invalid_request"),
        ({"to": NUMBER, "locale": ""}, 400, "invalid_request"),
    ],
)
async def test_bad_start_requests(app_client: AppFactory, payload: dict[str, Any], status: int, code: str) -> None:
    async with app_client() as client:
        response = await client.post("/verify/start", json=payload)
        assert (response.status_code, response.json()["code"]) == (status, code)
        assert sent_bodies(client) == []


async def test_start_parses_json_sent_as_a_form_type(app_client: AppFactory) -> None:
    async with app_client() as client:
        response = await client.post(
            "/verify/start",
            content=f'{{"to":"{NUMBER}"}}',
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 201


async def test_allowed_countries(app_client: AppFactory) -> None:
    async with app_client(otp_allowed_countries="it,FR") as client:
        refused = await start(client, "+14155552671")
        assert (refused.status_code, refused.json()["code"]) == (403, "country_not_allowed")
        assert (await start(client, NUMBER)).status_code == 201
        assert (await start(client, "+33612345678")).status_code == 201
        assert len(sent_bodies(client)) == 2


@pytest.mark.parametrize("number", ["+390612345678", "+448712345678"])  # fixed line, shared cost
async def test_numbers_that_cannot_receive_sms_are_refused(app_client: AppFactory, number: str) -> None:
    async with app_client() as client:
        refused = await start(client, number)
        assert (refused.status_code, refused.json()["code"]) == (403, "number_type_not_allowed")
    async with app_client(otp_mobile_only=False) as client:
        assert (await start(client, number)).status_code == 201


async def test_starts_count_against_the_global_limit(app_client: AppFactory) -> None:
    async with app_client(rate_limit_max_requests=2) as client:
        assert (await start(client, NUMBER)).status_code == 201
        assert (await start(client, OTHER_NUMBER)).status_code == 201
        refused = await start(client, "+393339999999")
        assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
        assert int(refused.headers["Retry-After"]) >= 1


async def test_no_enumeration_same_shape_for_new_and_known_numbers(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app() as client:
        await start(client, NUMBER)
        await client.post("/verify/check", json={"to": NUMBER, "code": last_code(client)})
        clock.advance(1)
        known = await start(client, NUMBER)
        unknown = await start(client, OTHER_NUMBER)
        assert known.status_code == unknown.status_code == 201
        assert set(known.json()) == set(unknown.json()) == START_FIELDS
