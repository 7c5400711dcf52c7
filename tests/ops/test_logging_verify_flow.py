"""A whole start/check flow on a real provider, logged as operators get it (JSON, even at
DEBUG): no code, no full number, no configured secret in any line."""

import io
import logging
import re
from collections.abc import Iterator

import pytest

from otpservice.observability.logging import configure_logging, secret_values
from tests.conftest import make_settings, running_app
from tests.fakes import TwilioFake
from tests.fakes.fixtures import fake_twilio  # noqa: F401
from tests.fakes.twilio import AUTH_TOKEN

NUMBER = "+393331234567"
SECRETS = {
    "otp_secret_key": "flow-secret-key-0123456789abcdefXYZ",
    "api_keys": "flow-api-key-0123456789",
    "webhook_secret": "flow-webhook-secret-987",
    "otp_previous_secret_keys": "flow-old-key-55555555",
}


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


async def test_start_and_check_leave_no_code_number_or_secret_in_logs(
    fake_twilio: TwilioFake, log_stream: io.StringIO, sqlite_url: str
) -> None:
    settings = make_settings(
        sqlite_url,
        **fake_twilio.settings(),
        **SECRETS,
        sms_default_sender="ACME",
        public_base_url="https://otp.example.com",
    )
    configure_logging("debug", "json", secret_values(settings))
    logging.getLogger().handlers[0].setStream(log_stream)  # type: ignore[attr-defined]
    auth = {"Authorization": "Bearer flow-api-key-0123456789"}
    async with running_app(settings) as client:
        started = await client.post("/verify/start", json={"to": NUMBER}, headers=auth)
        assert started.status_code == 201
        code = re.search(r"\b(\d{6})\b", fake_twilio.sends[0].form["Body"]).group(1)  # type: ignore[union-attr]
        wrong = "000000" if code != "000000" else "111111"
        assert (await client.post("/verify/check", json={"to": NUMBER, "code": wrong}, headers=auth)).status_code == 200
        checked = await client.post("/verify/check", json={"id": started.json()["id"], "code": code}, headers=auth)
        assert checked.json()["status"] == "approved"
    output = log_stream.getvalue()
    assert '"/verify/start"' in output and "+39******4567" in output  # it did log the flow
    assert code not in output
    assert NUMBER not in output and NUMBER.lstrip("+") not in output
    for secret in [*SECRETS.values(), AUTH_TOKEN]:
        assert secret not in output
