"""What reaches a row and a caller: provider strings checked and scrubbed, and a database
error after the provider accepted (never a 500, never a second SMS)."""

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from otpservice.clock import FakeClock
from otpservice.db.migrate import upgrade_to_head
from tests.conftest import make_settings, running_app
from tests.fakes import Reply, TwilioFake
from tests.fakes.fixtures import ProviderApp, fake_twilio, provider_app  # noqa: F401

NUMBER = "+393331234567"
SECRET_BODY = "Your code is 4821 zebra-crossing"
SEND = {"sender": "ACME", "receiver": NUMBER, "body": SECRET_BODY}


async def test_odd_provider_strings_never_make_a_write_fail(fake_twilio: TwilioFake, database_url: str) -> None:
    """A 2xx whose id and status do not fit the columns (or hold a NUL, which PostgreSQL
    refuses): the message is sent all the same, under our own id."""
    fake_twilio.push(
        Reply(201, json={"sid": "SM" + "9" * 300, "status": "queued\x00" + "x" * 80, "num_segments": "9" * 30})
    )
    fake_twilio.push(Reply(201, json={"sid": "SM\x00bad", "status": "ok"}))
    await asyncio.to_thread(upgrade_to_head, database_url)
    settings = make_settings(database_url, **fake_twilio.settings())
    async with running_app(settings, clock=FakeClock()) as client:
        for index in range(2):
            response = await client.post("/send", json={**SEND, "receiver": f"+39333123456{index}"})
            assert response.status_code == 200, response.text
            sid = response.json()["sid"]
            assert sid.startswith("MS")
            record = (await client.get(f"/messages/{sid}")).json()
            assert (record["status"], record["providerStatus"]) == ("sent", "unknown")


async def test_provider_free_text_is_scrubbed_of_the_message_body(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    echo = f"Message '{SECRET_BODY}' refused: content 4821 not allowed"
    fake_twilio.push(Reply(400, json={"code": 30007, "message": echo, "status": 400}))
    async with provider_app(fake_twilio) as client:
        refused = await client.post("/send", json=SEND)
        assert refused.status_code == 502
        assert "30007" in refused.json()["message"] and "4821" not in refused.text
        engine = client.app.state.services.engine  # type: ignore[attr-defined]
        async with engine.connect() as connection:
            from sqlalchemy import text

            [(message_id, stored)] = (await connection.execute(text("SELECT id, error_message FROM messages"))).all()
        history = (await client.get(f"/messages/{message_id}")).json()["history"]
    for told in (refused.text, stored, history[-1]["detail"]):
        assert "4821" not in told and "zebra" not in told, told
    assert history[-1]["status"] == "failed"


async def test_a_database_error_after_the_provider_accepted_is_no_500_and_no_second_sms(
    fake_twilio: TwilioFake, sqlite_url: str, tmp_path: Path
) -> None:
    fake_twilio.delay = 0.5
    clock = FakeClock()
    settings = make_settings(sqlite_url, **fake_twilio.settings(), sms_queue_enabled=True, provider_timeout=5)
    database = sqlite_url.split("///", 1)[1]
    async with running_app(settings, clock=clock) as client:
        sending = asyncio.create_task(client.post("/send", json=SEND))
        while not fake_twilio.sends:  # the provider has the request: now the database fails
            await asyncio.sleep(0.01)
        await asyncio.to_thread(_sql, database, "ALTER TABLE messages RENAME TO messages_away")
        response = await sending
        assert response.status_code == 200, response.text
        accepted = response.json()
        assert accepted["status"] == "sent" and accepted["sid"].startswith("SM")
        await asyncio.to_thread(_sql, database, "ALTER TABLE messages_away RENAME TO messages")
        clock.advance(3600)  # far past the lease
        for _ in range(20):
            await client.app.state.services.worker.drain_once()  # type: ignore[attr-defined]
            if await _status(client, accepted["sid"]) == "sent":
                break
            await asyncio.sleep(0.2)
        assert await _status(client, accepted["sid"]) == "sent"
    assert len(fake_twilio.sends) == 1


def _sql(database: str, statement: str) -> None:
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute(statement)


async def _status(client: httpx.AsyncClient, sid: str) -> Any:
    response = await client.get(f"/messages/{sid}")
    return response.json().get("status") if response.status_code == 200 else None
