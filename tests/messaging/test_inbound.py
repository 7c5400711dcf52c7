"""Inbound SMS and opt-out (SPEC 22), on SQLite and PostgreSQL: signed Twilio webhooks for
STOP, START and HELP answered in TwiML, Vonage and Kaleyra inbound forms, plain sends refused
before any provider call (native 403, compatible 21610) while codes still go, the opt-out
seen by another replica at once, the forward to INBOUND_WEBHOOK_URL, and the console's list."""

import asyncio
import time
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from otpservice.clock import FakeClock
from otpservice.messaging.keywords import START_REPLY, STOP_REPLY
from tests.admin.traffic import ADMIN_KEY, login
from tests.alert_receiver import alert_receiver
from tests.conftest import make_settings, read_outbox, running_app

BASE = "https://otp.example.com"
TOKEN = "twilio-auth-token"
NUMBER = "+393331234567"
OURS = "+15005550006"
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def settings(database_url: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "public_base_url": BASE,
        "twilio_auth_token": TOKEN,
        "webhook_secret": "hook-secret",
        "exponential_delay_base": 0.001,
        "exponential_delay_max": 0.001,
        **overrides,
    }
    return make_settings(database_url, **values)


async def inbound(client: httpx.AsyncClient, body: str, sender: str = NUMBER, token: str = TOKEN) -> httpx.Response:
    """What Twilio posts for an SMS to our number, signed as Twilio signs it."""
    params = {"MessageSid": "SM" + "a" * 32, "From": sender, "To": OURS, "Body": body, "NumMedia": "0"}
    signature = RequestValidator(token).compute_signature(BASE + "/webhooks/twilio/inbound", params)
    return await client.post("/webhooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})


def message_of(twiml: httpx.Response) -> str | None:
    assert twiml.headers["content-type"].startswith("text/xml")
    text = twiml.text
    if text == EMPTY:
        return None
    prefix = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
    assert text.startswith(prefix) and text.endswith("</Message></Response>"), text
    return text[len(prefix) : -len("</Message></Response>")].replace("&amp;", "&")


async def send(client: httpx.AsyncClient, to: str = NUMBER) -> httpx.Response:
    return await client.post("/send", json={"sender": "ACME", "receiver": to, "body": "news"})


async def test_stop_start_and_help_as_twilio_sends_them(migrated_database_url: str) -> None:
    config = settings(migrated_database_url, opt_out_help_text="Acme alerts. Reply STOP to stop.")
    clock = FakeClock()
    async with running_app(config, clock=clock) as client:
        plain = await inbound(client, "hello there")
        stop = await inbound(client, "  stop ")
        refused = await send(client)
        compatible = await client.post(
            "/2010-04-01/Accounts/AC" + "1" * 32 + "/Messages.json", data={"To": NUMBER, "From": OURS, "Body": "x"}
        )
        code = await client.post("/verify/start", json={"to": NUMBER})
        help_while_out = await inbound(client, "HELP")
        start = await inbound(client, "Unstop")
        clock.advance(1)  # past the number's delay after the code
        allowed = await send(client)
        help_answer = await inbound(client, "info")
        not_a_keyword = await inbound(client, "STOP PLEASE")
        clock.advance(1)
        still_allowed = await send(client)
        forged = await inbound(client, "START", token="not-the-token")
        outbox = (await read_outbox(client)).json()["messages"]
    assert message_of(plain) is None
    assert message_of(stop) == STOP_REPLY
    assert (refused.status_code, refused.json()["code"]) == (403, "recipient_opted_out")
    assert (compatible.status_code, compatible.json()["code"]) == (400, 21610)
    assert code.status_code == 201  # the code the person asked for still goes
    assert message_of(help_while_out) is None  # as Twilio: no HELP answer to an opted-out number
    assert message_of(start) == START_REPLY
    assert allowed.status_code == 200
    assert message_of(help_answer) == "Acme alerts. Reply STOP to stop."
    assert message_of(not_a_keyword) is None and still_allowed.status_code == 200
    assert forged.status_code == 403
    assert [message["body"] for message in outbox][::-1][1:] == ["news", "news"]  # the code, then two sends


async def test_vonage_and_kaleyra_inbound_forms_opt_out_too(migrated_database_url: str) -> None:
    async with running_app(settings(migrated_database_url), clock=FakeClock()) as client:
        vonage = await client.get(
            "/webhooks/vonage/inbound",
            params={
                "msisdn": "393331234567",
                "to": "447700900001",
                "text": "STOPALL",
                "messageId": "v1",
                "token": "hook-secret",
            },
        )
        refused = await send(client)
        kaleyra = await client.post(
            "/webhooks/kaleyra/inbound?token=hook-secret",
            json={"sender": "+393337654321", "receiver": "+447700900001", "message": "Quit", "id": "k1"},
        )
        refused_too = await send(client, "+393337654321")
        no_token = await client.post(
            "/webhooks/kaleyra/inbound", json={"sender": NUMBER, "receiver": OURS, "message": "START"}
        )
        missing = await client.post("/webhooks/vonage/inbound?token=hook-secret", data={"text": "hi"})
        start = await client.post(
            "/webhooks/vonage/inbound?token=hook-secret", data={"msisdn": "393331234567", "to": "1", "text": "start"}
        )
        allowed = await send(client)
    assert vonage.status_code == kaleyra.status_code == start.status_code == 204
    assert refused.status_code == refused_too.status_code == 403
    assert no_token.status_code == 403 and missing.status_code == 400
    assert allowed.status_code == 200


async def test_an_opt_out_holds_on_another_replica_at_once(migrated_database_url: str) -> None:
    config = settings(migrated_database_url)
    async with running_app(config, clock=FakeClock()) as first, running_app(config, clock=FakeClock()) as second:
        assert (await send(second)).status_code == 200
        assert message_of(await inbound(first, "END")) == STOP_REPLY
        refused = await send(second)
        assert (refused.status_code, refused.json()["code"]) == (403, "recipient_opted_out")


async def test_every_inbound_message_is_forwarded_signed_in_the_background(migrated_database_url: str) -> None:
    with alert_receiver(secret="inbound-secret") as receiver:
        config = settings(
            migrated_database_url, inbound_webhook_url=receiver.url, inbound_webhook_secret="inbound-secret"
        )
        async with running_app(config) as client:
            answers = [await inbound(client, body) for body in ("Hi, is this Acme?", "STOP")]
            deadline = time.monotonic() + 10
            while len(receiver.alerts) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
    assert [answer.status_code for answer in answers] == [200, 200]
    assert receiver.bad_signatures == 0
    forwarded = sorted(receiver.alerts, key=lambda alert: alert["body"])
    assert [(alert["body"], alert["keyword"]) for alert in forwarded] == [("Hi, is this Acme?", None), ("STOP", "stop")]
    assert all(
        alert["event"] == "inbound_message" and alert["from"] == NUMBER and alert["to"] == OURS for alert in forwarded
    )
    assert all(alert["provider"] == "twilio" and alert["at"].endswith("Z") for alert in forwarded)


async def test_a_hanging_app_never_holds_the_inbound_answer(migrated_database_url: str) -> None:
    with alert_receiver(secret="s", hold=True) as receiver:
        config = settings(migrated_database_url, inbound_webhook_url=receiver.url, inbound_webhook_secret="s")
        async with running_app(config) as client:
            started = time.monotonic()
            answer = await inbound(client, "STOP")
            elapsed = time.monotonic() - started
            receiver.release.set()
    assert answer.status_code == 200 and elapsed < 5


def test_the_url_needs_its_secret() -> None:
    with pytest.raises(ValueError, match="INBOUND_WEBHOOK_SECRET"):
        make_settings("sqlite+aiosqlite:///x.db", inbound_webhook_url="https://app.example.com/sms")


async def test_the_console_lists_opt_outs_masked(migrated_database_url: str) -> None:
    # No https PUBLIC_BASE_URL here: the console's cookies would be Secure, and this client speaks http.
    config = settings(migrated_database_url, admin_api_keys=ADMIN_KEY, public_base_url=None)
    async with running_app(config, clock=FakeClock()) as client:
        await client.post(
            "/webhooks/vonage/inbound?token=hook-secret", data={"msisdn": NUMBER[1:], "to": "1", "text": "STOP"}
        )
        await login(client)
        page = (await client.get("/admin/opt-outs")).text
    assert 'id="opt-outs"' in page and "+39******4567" in page and NUMBER not in page
    assert "1 number opted out" in page
