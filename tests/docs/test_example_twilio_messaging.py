"""examples/twilio_messaging_app.py (docs/messaging.md), an app written the usual Twilio way,
against a real `otpservice serve`: it sends with a status callback and gets it signed as its
RequestValidator wants, receives an inbound SMS forwarded by otpservice, and is refused with
21610 once the person replied STOP."""

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import httpx
import uvicorn
from twilio.request_validator import RequestValidator

from tests.ops.test_cli import SECRETS
from tests.process import free_port, serve

ROOT = Path(__file__).resolve().parents[2]
AUTH_TOKEN = "app-auth-token-0123456789"  # one of otpservice's API_KEYS
TWILIO_TOKEN = "otpservice-twilio-token"  # what Twilio signs inbound webhooks to otpservice with
INBOUND_SECRET = "inbound-secret-0123456789"
NUMBER = "+393331234567"


@contextmanager
def served(app: object) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("twilio_messaging_app", ROOT / "examples" / "twilio_messaging_app.py")
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def wait(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_usual_twilio_app_works_against_otpservice(tmp_path: Path) -> None:
    example = load_example()
    with served(example.app) as app_url:
        port = free_port()
        service_url = f"http://127.0.0.1:{port}"
        env = {
            "DATABASE_URL": f"sqlite:///{tmp_path}/otp.db",
            "OTP_SECRET_KEY": SECRETS["OTP_SECRET_KEY"],
            "API_KEYS": AUTH_TOKEN,
            "PUBLIC_BASE_URL": service_url,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "INBOUND_WEBHOOK_URL": app_url + "/sms/inbound",
            "INBOUND_WEBHOOK_SECRET": INBOUND_SECRET,
        }
        with serve(env, tmp_path / "service.log", ["--port", str(port)]) as (base_url, _):
            for name, value in {
                "OTPSERVICE_URL": base_url,
                "AUTH_TOKEN": AUTH_TOKEN,
                "APP_PUBLIC_URL": app_url,
                "INBOUND_WEBHOOK_SECRET": INBOUND_SECRET,
                "ACCOUNT_SID": "AC" + "5" * 32,
            }.items():
                setattr(example, name, value)
            sent = httpx.post(app_url + "/notify", json={"to": NUMBER, "body": "Your order shipped"}, timeout=10)
            sid = sent.json()["sid"]
            wait(lambda: example.STATUSES.get(sid))
            # Twilio posts the person's reply to otpservice, signed with the account's token.
            params = {"MessageSid": "SM" + "b" * 32, "From": NUMBER, "To": "+15005550006", "Body": "STOP"}
            url = service_url + "/webhooks/twilio/inbound"
            signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
            reply = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature})
            wait(lambda: example.INBOX)
            refused = httpx.post(app_url + "/notify", json={"to": NUMBER, "body": "Sale today"}, timeout=10)
    assert sent.status_code == 200 and sid.startswith("SM")
    assert example.STATUSES[sid] == ["sent"]
    assert reply.status_code == 200 and "unsubscribed" in reply.text
    assert (example.INBOX[0]["from"], example.INBOX[0]["body"], example.INBOX[0]["keyword"]) == (NUMBER, "STOP", "stop")
    assert refused.status_code == 409 and refused.json() == {"error": "opted_out"}
