"""Idempotency-Key on the sending routes (SPEC 22), on SQLite and PostgreSQL: replay of the
first answer, 422 for another body, 409 while running, one SMS under concurrency, and the
answer kept across a real restart of `otpservice serve`."""

import asyncio
from pathlib import Path
from typing import Any

import httpx

from otpservice.clock import FakeClock
from tests.conftest import make_settings, read_outbox, running_app
from tests.process import serve

NUMBER = "+393331234567"
SEND = {"sender": "ACME", "receiver": NUMBER, "body": "hello"}


async def outbox(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (await read_outbox(client)).json()["messages"]
    return messages


async def test_the_same_key_and_body_replays_the_first_answer_and_sends_once(migrated_database_url: str) -> None:
    settings = make_settings(migrated_database_url, exponential_delay_base=0.001, exponential_delay_max=0.001)
    async with running_app(settings, clock=FakeClock()) as client:
        key = {"Idempotency-Key": "order-17"}
        first = await client.post("/send", json=SEND, headers=key)
        again = await client.post("/send", json=SEND, headers=key)
        other_body = await client.post("/send", json={**SEND, "body": "bye"}, headers=key)
        other_route = await client.post("/messaging/sms", json={"to": NUMBER, "body": "hello"}, headers=key)
        # Keys belong to their caller: the same key under another credential is another key.
        other_caller = await client.post(
            "/send", json={**SEND, "receiver": "+393337654321"}, headers={**key, "Authorization": "Basic eDp5"}
        )
        sent = await outbox(client)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (other_body.status_code, other_body.json()["code"]) == (422, "idempotency_key_reused")
    assert (other_route.status_code, other_route.json()["code"]) == (422, "idempotency_key_reused")
    assert other_caller.status_code == 200
    assert len(sent) == 2


async def test_many_identical_requests_at_once_send_one_sms(migrated_database_url: str) -> None:
    async with running_app(make_settings(migrated_database_url), clock=FakeClock()) as client:
        headers = {"Idempotency-Key": "burst"}
        answers = await asyncio.gather(*(client.post("/send", json=SEND, headers=headers) for _ in range(20)))
        sent = await outbox(client)
        later = await client.post("/send", json=SEND, headers=headers)
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 409} and statuses.count(200) >= 1, statuses
    firsts = [answer for answer in answers if answer.status_code == 200]
    assert len({answer.json()["sid"] for answer in firsts}) == 1  # every 200 is the one send, replayed
    for busy in (answer for answer in answers if answer.status_code == 409):
        assert busy.json()["code"] == "idempotency_in_progress"
    assert len(sent) == 1
    assert later.status_code == 200 and later.json() == firsts[0].json()


async def test_a_refusal_a_retry_may_mend_is_not_kept_but_a_bad_request_is(migrated_database_url: str) -> None:
    settings = make_settings(migrated_database_url, exponential_delay_base=60, exponential_delay_max=60)
    async with running_app(settings, clock=FakeClock()) as client:
        await client.post("/send", json=SEND)  # the number's first send: the next waits 60 s
        delayed = await client.post("/send", json=SEND, headers={"Idempotency-Key": "k1"})
        bad = {"sender": "ACME", "receiver": "123", "body": "x"}
        invalid = await client.post("/send", json=bad, headers={"Idempotency-Key": "k2"})
        invalid_again = await client.post("/send", json=bad, headers={"Idempotency-Key": "k2"})
        client.app.state.services.clock.advance(61)  # type: ignore[attr-defined]
        retried = await client.post("/send", json=SEND, headers={"Idempotency-Key": "k1"})
        bad_key = await client.post("/send", json=SEND, headers={"Idempotency-Key": "x" * 256})
    assert (delayed.status_code, delayed.json()["code"]) == (429, "number_delayed")
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert invalid.status_code == 400 and invalid_again.headers["Idempotent-Replayed"] == "true"
    assert invalid_again.json() == invalid.json()
    assert (bad_key.status_code, bad_key.json()["code"]) == (400, "invalid_request")


async def test_a_key_is_kept_24_hours_and_verify_start_takes_one_too(migrated_database_url: str) -> None:
    clock = FakeClock()
    settings = make_settings(migrated_database_url, exponential_delay_base=0.001, exponential_delay_max=0.001)
    async with running_app(settings, clock=clock) as client:
        headers = {"Idempotency-Key": "start-1"}
        started = await client.post("/verify/start", json={"to": NUMBER}, headers=headers)
        replayed = await client.post("/verify/start", json={"to": NUMBER}, headers=headers)
        clock.advance(24 * 3600 + 1)
        expired = await client.post("/verify/start", json={"to": NUMBER}, headers=headers)
        sent = await outbox(client)
    assert started.status_code == replayed.status_code == 201
    assert replayed.json() == started.json()
    assert expired.status_code == 201 and expired.json()["id"] != started.json()["id"]
    assert len(sent) == 2


def test_the_answer_survives_a_restart(migrated_database_url: str, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": migrated_database_url,
        "OTP_SECRET_KEY": "k" * 32,
        "CONSOLE_PROVIDER_ALLOWED": "true",
        "SMS_QUEUE_ENABLED": "false",
    }
    headers = {"Idempotency-Key": "restart-1"}
    with serve(env, tmp_path / "first.log") as (base_url, _):
        first = httpx.post(base_url + "/send", json=SEND, headers=headers, timeout=10)
        assert len(httpx.get(base_url + "/dev/outbox").json()["messages"]) == 1
    with serve(env, tmp_path / "second.log") as (base_url, _):
        again = httpx.post(base_url + "/send", json=SEND, headers=headers, timeout=10)
        reused = httpx.post(base_url + "/send", json={**SEND, "body": "other"}, headers=headers, timeout=10)
        sent = httpx.get(base_url + "/dev/outbox").json()["messages"]
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert reused.status_code == 422
    assert sent == []
