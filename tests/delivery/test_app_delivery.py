"""The outbox, failover and delivery receipts through the whole app, over real sockets."""

from typing import Any

import httpx

from otpservice.delivery.signatures import twilio_signature
from tests.conftest import AppFactory
from tests.fakes import Reply, TwilioFake, VonageFake
from tests.fakes.fixtures import ProviderApp, fake_twilio, fake_vonage, provider_app  # noqa: F401
from tests.fakes.twilio import AUTH_TOKEN
from tests.fakes.vonage import API_KEY as VONAGE_KEY, API_SECRET as VONAGE_SECRET

NUMBER = "+393331234567"
SEND = {"sender": "ACME", "receiver": NUMBER, "body": "hello"}
PUBLIC = "https://otp.example.com"


async def drain(client: httpx.AsyncClient) -> int:
    return await client.app.state.services.worker.drain_once()  # type: ignore[attr-defined]


async def test_provider_5xx_is_queued_then_sent_once(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: Any
) -> None:
    fake_twilio.push(Reply(503, json={"code": 20500, "message": "down", "status": 503}))
    async with provider_app(fake_twilio, sms_queue_enabled=True) as client:
        response = await client.post("/send", json=SEND)
        assert response.status_code == 202
        queued = response.json()
        assert queued["status"] == "queued" and queued["sid"].startswith("MS")
        assert (await client.get(f"/messages/{queued['sid']}")).json()["status"] == "queued"
        clock.advance(5)  # the first retry comes within 5 s
        await drain(client)
        record = (await client.get(f"/messages/{queued['sid']}")).json()
        assert record["status"] == "sent" and record["sid"].startswith("SM")
        assert [step["status"] for step in record["history"]] == ["queued", "sent"]
        assert record["to"] == "+39******4567"
        # The provider's sid finds the same record.
        assert (await client.get(f"/messages/{record['sid']}")).json()["id"] == queued["sid"]
        clock.advance(600)
        await drain(client)
    assert len(fake_twilio.sends) == 2  # the refused call, then exactly one delivery


async def test_queue_off_gives_the_caller_the_error(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    fake_twilio.push(Reply(503, json={"code": 20500, "message": "down", "status": 503}))
    async with provider_app(fake_twilio, sms_queue_enabled=False) as client:
        response = await client.post("/send", json=SEND)
        assert response.status_code == 502 and response.json()["code"] == "provider_error"


async def test_errors_no_retry_mends_are_not_queued(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    fake_twilio.fail_next(21211)
    async with provider_app(fake_twilio, sms_queue_enabled=True) as client:
        response = await client.post("/send", json=SEND)
        assert response.status_code == 400 and response.json()["code"] == "invalid_phone_number"


async def test_provider_rate_queues_the_excess(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    async with provider_app(fake_twilio, sms_queue_enabled=True, sms_rate_limit=2) as client:
        statuses = [
            (await client.post("/send", json={**SEND, "receiver": f"+39333123450{index}"})).status_code
            for index in range(4)
        ]
    assert statuses == [200, 200, 202, 202]
    assert len(fake_twilio.sends) == 2


async def test_fallback_provider_takes_over(
    fake_twilio: TwilioFake, fake_vonage: VonageFake, provider_app: ProviderApp
) -> None:
    fake_twilio.push(Reply(500, json={"code": 20500, "message": "down", "status": 500}))
    async with provider_app(
        fake_twilio,
        sms_queue_enabled=True,
        sms_fallback_provider="vonage",
        vonage_base_url=fake_vonage.base_url,
        vonage_api_key=VONAGE_KEY,
        vonage_api_secret=VONAGE_SECRET,
    ) as client:
        response = await client.post("/send", json=SEND)
        assert response.status_code == 200
        record = (await client.get(f"/messages/{response.json()['sid']}")).json()
        assert record["provider"] == "vonage"
    assert len(fake_twilio.sends) == 1 and len(fake_vonage.sends) == 1


async def signed_post(client: httpx.AsyncClient, params: dict[str, str], token: str = AUTH_TOKEN) -> httpx.Response:
    path = "/webhooks/twilio/status"
    signature = twilio_signature(token, PUBLIC + path, params)
    return await client.post(path, data=params, headers={"X-Twilio-Signature": signature})


async def test_twilio_receipts_are_signed_and_never_move_backwards(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    async with provider_app(fake_twilio, public_base_url=PUBLIC) as client:
        sid = (await client.post("/send", json=SEND)).json()["sid"]
        assert fake_twilio.sends[0].form["StatusCallback"] == PUBLIC + "/webhooks/twilio/status"
        forged = await signed_post(client, {"MessageSid": sid, "MessageStatus": "delivered"}, token="wrong")
        assert forged.status_code == 403
        assert (await client.get(f"/messages/{sid}")).json()["status"] == "sent"
        for status in ("delivered", "sent", "delivered", "failed"):
            assert (await signed_post(client, {"MessageSid": sid, "MessageStatus": status})).status_code == 204
        record = (await client.get(f"/messages/{sid}")).json()
        assert record["status"] == "delivered"
        assert [step["status"] for step in record["history"]] == ["sent", "delivered"]


async def test_vonage_receipt_needs_the_token(fake_vonage: VonageFake, provider_app: ProviderApp) -> None:
    async with provider_app(fake_vonage, public_base_url=PUBLIC, webhook_secret="hook-secret-1") as client:
        sid = (await client.post("/send", json=SEND)).json()["sid"]
        assert fake_vonage.sends[0].form["callback"] == PUBLIC + "/webhooks/vonage/dlr?token=hook-secret-1"
        receipt = {"messageId": sid, "status": "failed", "err-code": "6", "msisdn": NUMBER.lstrip("+")}
        assert (await client.get("/webhooks/vonage/dlr", params=receipt)).status_code == 403
        wrong = await client.get("/webhooks/vonage/dlr", params={**receipt, "token": "nope"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_signature"
        ok = await client.post("/webhooks/vonage/dlr?token=hook-secret-1", json=receipt)
        assert ok.status_code == 204
        record = (await client.get(f"/messages/{sid}")).json()
        assert (record["status"], record["errorCode"]) == ("failed", "6")


async def test_receipt_routes_are_off_without_a_secret(app_client: AppFactory) -> None:
    async with app_client() as client:
        assert (await client.get("/webhooks/vonage/dlr", params={"token": "x"})).status_code == 404
        assert (await client.post("/webhooks/kaleyra/dlr?token=x", json={})).status_code == 404
        assert (await client.post("/webhooks/twilio/status", data={})).status_code == 404


async def test_verification_shows_a_failed_delivery(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    async with provider_app(fake_twilio, public_base_url=PUBLIC, sms_default_sender="ACME") as client:
        started = (await client.post("/verify/start", json={"to": NUMBER})).json()
        provider_sid = await _provider_sid_of(client, started["id"])
        receipt = {"MessageSid": provider_sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
        assert (await signed_post(client, receipt)).status_code == 204
        status = (await client.get(f"/verify/{started['id']}")).json()
        assert status["deliveryStatus"] == "undelivered" and status["status"] == "pending"


async def _provider_sid_of(client: httpx.AsyncClient, verification_id: str) -> str:
    from sqlalchemy import select

    from otpservice.db.models import Message

    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    async with engine.connect() as connection:
        sid = (
            await connection.execute(select(Message.provider_sid).where(Message.verification_id == verification_id))
        ).scalar_one()
    return str(sid)


async def test_a_queued_otp_keeps_the_verification_pending_and_its_code_unreadable(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: Any
) -> None:
    from sqlalchemy import select

    from otpservice.db.models import Message

    fake_twilio.push(Reply(503, json={"code": 20500, "message": "down", "status": 503}))
    async with provider_app(fake_twilio, sms_queue_enabled=True, sms_default_sender="ACME") as client:
        started = await client.post("/verify/start", json={"to": NUMBER})
        assert started.status_code == 201 and started.json()["status"] == "pending"
        verification_id = started.json()["id"]
        assert (await client.get(f"/verify/{verification_id}")).json()["deliveryStatus"] == "queued"
        engine = client.app.state.services.engine  # type: ignore[attr-defined]
        async with engine.connect() as connection:
            [queued] = (
                await connection.execute(select(Message).where(Message.verification_id == verification_id))
            ).all()
        refused_body = fake_twilio.sends[0].form["Body"]
        code = next(word for word in refused_body.replace(".", " ").split() if word.isdigit())
        assert queued.body_ciphertext and code.encode() not in queued.body_ciphertext
        clock.advance(5)  # the first retry comes within 5 s
        await drain(client)
        assert fake_twilio.sends[-1].form["Body"] == refused_body  # the same code, sent once more
        status = (await client.get(f"/verify/{verification_id}")).json()
        assert (status["status"], status["deliveryStatus"]) == ("pending", "sent")
        checked = await client.post("/verify/check", json={"id": verification_id, "code": code})
        assert checked.json()["status"] == "approved"


async def test_an_unreadable_success_is_never_sent_again(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: Any
) -> None:
    fake_twilio.push(Reply(201, text="<html>captive portal</html>"))
    async with provider_app(fake_twilio, sms_queue_enabled=True) as client:
        response = await client.post("/send", json=SEND)
        # The provider may have sent it: it counts as sent, under our own id, never retried.
        assert (response.status_code, response.json()["status"]) == (200, "sent")
        sid = response.json()["sid"]
        assert sid.startswith("MS")
        assert (await client.get(f"/messages/{sid}")).json()["providerStatus"] == "unknown"
        clock.advance(600)
        await drain(client)
    assert len(fake_twilio.sends) == 1


async def test_a_receipt_for_an_unknown_message_asks_for_a_retry(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    async with provider_app(fake_twilio, public_base_url=PUBLIC) as client:
        response = await signed_post(client, {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"})
        assert (response.status_code, response.json()["code"]) == (404, "message_not_found")
