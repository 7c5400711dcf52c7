"""Black box: a real `otpservice serve` process sends a code on whatsapp, call and email (the
fake Twilio and a real SMTP server on 127.0.0.1), and each is approved."""

import re
from pathlib import Path

import httpx

from tests.channels.smtp_server import smtp_server
from tests.fakes import TwilioFake
from tests.fakes.fixtures import fake_twilio  # noqa: F401
from tests.process import serve

KEY = "channels-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


def test_a_served_process_verifies_on_whatsapp_call_and_email(
    migrated_database_url: str, fake_twilio: TwilioFake, tmp_path: Path
) -> None:
    with smtp_server() as (address, sink):
        env = {
            **fake_twilio.environment(),
            "DATABASE_URL": migrated_database_url,
            "OTP_SECRET_KEY": "k" * 32,
            "API_KEYS": KEY,
            "SMS_QUEUE_ENABLED": "false",
            "TWILIO_WHATSAPP_FROM": "+14155238886",
            "TWILIO_VOICE_FROM": "+15005550006",
            "SMTP_URL": f"smtp://{address}",
            "EMAIL_FROM": "codes@acme.example",
        }
        with (
            serve(env, tmp_path / "serve.log") as (base_url, _),
            httpx.Client(base_url=base_url, headers=AUTH) as client,
        ):
            codes: dict[str, str] = {}
            started = client.post("/verify/start", json={"to": "+393331234567", "channel": "whatsapp"})
            assert started.status_code == 201, started.text
            codes["+393331234567"] = code_in(fake_twilio.sends[-1].form["Body"])
            started = client.post("/verify/start", json={"to": "+393337654321", "channel": "call"})
            assert started.status_code == 201, started.text
            codes["+393337654321"] = "".join(re.findall(r"\d", fake_twilio.sends[-1].form["Twiml"].split(">", 2)[2]))
            started = client.post("/verify/start", json={"to": "ivy@example.com", "channel": "email"})
            assert started.status_code == 201, started.text
            [received] = sink.messages()
            plain = received.message.get_body(("plain",))
            assert plain is not None
            codes["ivy@example.com"] = code_in(str(plain.get_content()))
            for to, code in codes.items():
                checked = client.post("/verify/check", json={"to": to, "code": code})
                assert checked.json()["status"] == "approved", (to, checked.text)


def code_in(text: str) -> str:
    found = re.search(r"\b\d{6}\b", text)
    assert found is not None, "no code"
    return found.group()
