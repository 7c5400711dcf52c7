"""Concurrent starts never answer a dead verification (SPEC 19): starts for one number at once,
native and under several Twilio-compatible services, each answer a pending verification (or
a refusal), never a canceled, expired or approved one. A real service process."""

import asyncio
from pathlib import Path

import httpx

from tests.process import serve

NUMBER = "+393331234567"
ROUNDS = 10
STARTS = 20  # per round
SERVICES = 3
ACCOUNT = ("AC" + "0" * 32, "any")  # Basic user and password: API_KEYS unset


def env_for(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "CONSOLE_PROVIDER_ALLOWED": "true",
        "OTP_SECRET_KEY": "concurrent-starts-key-0123456789abcdef",
        "SMS_DEFAULT_SENDER": "ACME",
        "EXPONENTIAL_DELAY_BASE": "0.001",  # the number's delay would refuse most of them
        "EXPONENTIAL_DELAY_MAX": "0.01",
        "OTP_MAX_SENDS": "100",
        "OTP_MAX_SENDS_PER_NUMBER_HOUR": "10000",
        "OTP_MAX_SENDS_PER_NUMBER_DAY": "10000",
        "OTP_MAX_REQUESTS_PER_IP_MINUTE": "10000",
        "RATE_LIMIT_MAX_REQUESTS": "10000",
        "SMS_RATE_LIMIT": "10000",
    }


async def starts_at_once(client: httpx.AsyncClient, services: list[str]) -> list[tuple[str, httpx.Response]]:
    async def native() -> tuple[str, httpx.Response]:
        return "native", await client.post("/verify/start", json={"to": NUMBER})

    async def under(sid: str) -> tuple[str, httpx.Response]:
        form = {"To": NUMBER, "Channel": "sms"}
        return sid, await client.post(f"/v2/Services/{sid}/Verifications", data=form, auth=ACCOUNT)

    calls = [native() if index % (SERVICES + 1) == 0 else under(services[index % SERVICES]) for index in range(STARTS)]
    return await asyncio.gather(*calls)


async def run(base_url: str) -> list[tuple[str, httpx.Response]]:
    limits = httpx.Limits(max_connections=STARTS)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        services = []
        for index in range(SERVICES):
            created = await client.post("/v2/Services", data={"FriendlyName": f"App {index}"}, auth=ACCOUNT)
            assert created.status_code == 201, created.text
            services.append(created.json()["sid"])
        answers = []
        for _ in range(ROUNDS):
            answers += await starts_at_once(client, services)
        return answers


def test_concurrent_starts_under_several_services_answer_only_pending_verifications(
    migrated_database_url: str, tmp_path: Path
) -> None:
    with serve(env_for(migrated_database_url), tmp_path / "serve.log") as (base_url, _):
        answers = asyncio.run(run(base_url))
    answered = 0
    for who, answer in answers:
        assert answer.status_code < 500, answer.text
        if answer.status_code in (200, 201):
            answered += 1
            assert answer.json()["status"] == "pending", f"{who}: {answer.status_code} {answer.text}"
        else:
            assert answer.status_code == 429, answer.text  # refused (a race for the number): never a dead one
    assert answered >= ROUNDS  # each round gave at least one live verification
