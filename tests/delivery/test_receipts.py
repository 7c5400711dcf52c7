"""Delivery receipts: every Vonage part, Twilio's signature over the URL it was given, and
webhook secret rotation (WEBHOOK_PREVIOUS_SECRETS)."""

import httpx

from otpservice.delivery.signatures import twilio_signature
from tests.fakes import TwilioFake, VonageFake
from tests.fakes.fixtures import ProviderApp, fake_twilio, fake_vonage, provider_app  # noqa: F401
from tests.fakes.twilio import AUTH_TOKEN

NUMBER = "+393331234567"
SEND = {"sender": "ACME", "receiver": NUMBER, "body": "hello"}
STATUS_PATH = "/webhooks/twilio/status"


async def test_a_receipt_for_any_part_of_a_long_vonage_message_updates_it(
    fake_vonage: VonageFake, provider_app: ProviderApp
) -> None:
    async with provider_app(fake_vonage, public_base_url="https://otp.example.com", webhook_secret="s1") as client:
        response = await client.post("/send", json={**SEND, "body": "long text " * 40})
        assert response.status_code == 200 and response.json()["numSegments"] == "3"
        first = response.json()["sid"]
        last = first[:-1] + "2"  # the fake numbers the parts' ids 0, 1, 2
        receipt = {"messageId": last, "status": "delivered", "msisdn": NUMBER.lstrip("+"), "token": "s1"}
        assert (await client.get("/webhooks/vonage/dlr", params=receipt)).status_code == 204
        record = (await client.get(f"/messages/{first}")).json()
        assert record["status"] == "delivered"
        assert (await client.get(f"/messages/{last}")).json()["id"] == record["id"]


async def signed(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> httpx.Response:
    return await client.post(
        STATUS_PATH, data=params, headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, params)}
    )


async def test_twilio_signature_is_checked_over_the_callback_url_given_for_that_message(
    fake_twilio: TwilioFake, provider_app: ProviderApp
) -> None:
    """The service moved to a new public URL: receipts of messages sent before still come
    signed over the URL Twilio was given then."""
    old, new = "https://old.example.com", "https://otp.example.com"
    async with provider_app(fake_twilio, public_base_url=old) as client:
        sid = (await client.post("/send", json=SEND)).json()["sid"]
    assert fake_twilio.sends[0].form["StatusCallback"] == old + STATUS_PATH
    async with provider_app(fake_twilio, public_base_url=new) as client:
        receipt = {"MessageSid": sid, "MessageStatus": "delivered"}
        assert (await signed(client, new + STATUS_PATH, receipt)).status_code == 403
        assert (await signed(client, old + STATUS_PATH, receipt)).status_code == 204
        assert (await client.get(f"/messages/{sid}")).json()["status"] == "delivered"
        # A message sent now: its own URL, the new one.
        fresh = (await client.post("/send", json=SEND)).json()["sid"]
        assert (
            await signed(client, old + STATUS_PATH, {"MessageSid": fresh, "MessageStatus": "sent"})
        ).status_code == 403
        assert (
            await signed(client, new + STATUS_PATH, {"MessageSid": fresh, "MessageStatus": "delivered"})
        ).status_code == 204


async def test_previous_webhook_secrets_are_still_accepted(fake_vonage: VonageFake, provider_app: ProviderApp) -> None:
    public = "https://otp.example.com"
    async with provider_app(fake_vonage, public_base_url=public, webhook_secret="old-secret") as client:
        sid = (await client.post("/send", json=SEND)).json()["sid"]
    assert fake_vonage.sends[0].form["callback"].endswith("?token=old-secret")
    async with provider_app(
        fake_vonage, public_base_url=public, webhook_secret="new-secret", webhook_previous_secrets="old-secret"
    ) as client:
        receipt = {"messageId": sid, "status": "delivered", "msisdn": NUMBER.lstrip("+")}
        assert (await client.get("/webhooks/vonage/dlr", params={**receipt, "token": "other"})).status_code == 403
        assert (await client.get("/webhooks/vonage/dlr", params={**receipt, "token": "old-secret"})).status_code == 204
        assert (
            await client.post("/webhooks/vonage/dlr", json=receipt, headers={"X-Webhook-Token": "new-secret"})
        ).status_code == 204
        assert (await client.get(f"/messages/{sid}")).json()["status"] == "delivered"
