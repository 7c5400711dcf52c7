"""WhatsApp (Messages API v1) and voice (Voice API, NCCO talk) on Vonage, authenticated with a
JWT signed by the application's key, against the fake Vonage on 127.0.0.1 (SPEC 20)."""

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes import VonageFake
from tests.fakes.fixtures import ProviderApp, fake_vonage, provider_app  # noqa: F401

NUMBER = "+393331234567"
SENDER = "+15005550006"


@pytest.fixture
def vonage_app(fake_vonage: VonageFake, tmp_path: Path) -> dict[str, str]:
    """The application's settings; the fake checks its JWTs with the public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp_path / "vonage.pem"
    path.write_bytes(pem)
    fake_vonage.app_public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {
        "vonage_application_id": fake_vonage.app_id,
        "vonage_private_key": str(path),
        "vonage_api_url": fake_vonage.base_url,
        "sms_default_sender": SENDER,
    }


async def test_whatsapp_and_a_call_on_vonage_are_sent_and_approved(
    fake_vonage: VonageFake, provider_app: ProviderApp, vonage_app: dict[str, str]
) -> None:
    async with provider_app(fake_vonage, **vonage_app) as client:
        started = await client.post("/verify/start", json={"to": NUMBER, "channel": "whatsapp"})
        assert started.status_code == 201, started.text
        [(path, body)] = fake_vonage.app_bodies()
        assert path == "/v1/messages"
        assert (body["to"], body["from"], body["channel"], body["message_type"]) == (
            NUMBER[1:],
            SENDER[1:],
            "whatsapp",
            "text",
        )
        code = re.search(r"\b\d{6}\b", body["text"])
        assert code is not None
        checked = await client.post("/verify/check", json={"to": NUMBER, "code": code.group()})
        assert checked.json()["status"] == "approved"

        other = "+393337654321"
        called = await client.post("/verify/start", json={"to": other, "channel": "call", "locale": "es"})
        assert called.status_code == 201, called.text
        path, body = fake_vonage.app_bodies()[-1]
        assert path == "/v1/calls"
        assert body["to"] == [{"type": "phone", "number": other[1:]}]
        [talk] = body["ncco"]
        assert (talk["action"], talk["language"], talk["loop"]) == ("talk", "es-ES", 2)
        digits = "".join(re.findall(r"\d", talk["text"]))
        assert len(digits) == 6
        checked = await client.post("/verify/check", json={"to": other, "code": digits})
        assert checked.json()["status"] == "approved"


async def test_a_wrong_key_is_refused_by_vonage_and_without_an_application_the_channels_are_unavailable(
    fake_vonage: VonageFake, provider_app: ProviderApp, vonage_app: dict[str, str], tmp_path: Path
) -> None:
    fake_vonage.app_id = "another-application"
    async with provider_app(fake_vonage, **vonage_app) as client:
        refused = await client.post("/verify/start", json={"to": NUMBER, "channel": "call"})
        assert refused.status_code == 502 and "credentials" in refused.json()["message"]
    async with provider_app(fake_vonage, sms_default_sender=SENDER) as client:
        for channel in ("whatsapp", "call"):
            refused = await client.post("/verify/start", json={"to": NUMBER, "channel": channel})
            assert refused.status_code == 400 and refused.json()["code"] == "channel_unavailable"


async def test_vonage_call_events_and_whatsapp_statuses_update_the_attempt(
    fake_vonage: VonageFake, provider_app: ProviderApp, vonage_app: dict[str, str]
) -> None:
    base = "https://otp.example.com"
    async with provider_app(fake_vonage, **vonage_app, public_base_url=base, webhook_secret="s1") as client:
        call = (await client.post("/verify/start", json={"to": NUMBER, "channel": "call"})).json()
        whatsapp = (await client.post("/verify/start", json={"to": "+393337654321", "channel": "whatsapp"})).json()
        (_, call_body), (_, message_body) = fake_vonage.app_bodies()
        [event_url] = call_body["event_url"]
        assert event_url.startswith(base + "/webhooks/vonage/dlr") and message_body["webhook_url"] == event_url
        [sent_call, sent_message] = fake_vonage.app_answers
        path = event_url.removeprefix(base)
        event = {"uuid": sent_call["uuid"], "status": "completed", "direction": "outbound"}
        assert (await client.post(path, json=event)).status_code == 204
        status = {"message_uuid": sent_message["message_uuid"], "status": "read", "channel": "whatsapp"}
        assert (await client.post(path, json=status)).status_code == 204
        for started in (call, whatsapp):
            assert (await client.get(f"/verify/{started['id']}")).json()["deliveryStatus"] == "delivered"
