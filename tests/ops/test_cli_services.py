"""`otpservice services create|list`: an app keeps its TWILIO_VERIFY_SERVICE_SID."""

import json
from pathlib import Path

import httpx

from tests.api.live import twilio_client
from tests.ops.test_cli import BIN, run
from tests.process import serve

SID = "VA" + "0123456789abcdef" * 2
NUMBER = "+393331234567"


def test_a_service_created_from_the_command_line_serves_the_twilio_sdk(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": "cli-services-key-0123456789abcdef0123456789",
    }
    created = run(
        [str(BIN), "services", "create", "--sid", SID, "--friendly-name", "Acme Shop", "--code-length", "8"],
        env,
        tmp_path,
    )
    again = run([str(BIN), "services", "create", "--sid", SID, "--friendly-name", "Other"], env, tmp_path)
    listed = run([str(BIN), "services", "list"], env, tmp_path)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["sid"] == SID
    assert again.returncode == 1 and SID in again.stderr
    assert [json.loads(line)["friendlyName"] for line in listed.stdout.splitlines()] == ["Acme Shop"]
    with serve(env, tmp_path / "serve.log") as (base_url, _):
        service = twilio_client(base_url).verify.v2.services(SID)
        fetched = service.fetch()
        started = service.verifications.create(to=NUMBER, channel="sms")
        body = httpx.get(base_url + "/dev/outbox").json()["messages"][0]["body"]
    assert (fetched.friendly_name, fetched.code_length) == ("Acme Shop", 8)
    assert started.status == "pending" and "Acme Shop" in body


def test_bad_arguments_are_refused_with_one_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otp.db"}
    bad_sid = run([str(BIN), "services", "create", "--sid", "VA123", "--friendly-name", "Acme"], env, tmp_path)
    bad_name = run([str(BIN), "services", "create", "--sid", SID, "--friendly-name", "x" * 33], env, tmp_path)
    bad_length = run(
        [str(BIN), "services", "create", "--sid", SID, "--friendly-name", "A", "--code-length", "3"], env, tmp_path
    )
    for result, named in ((bad_sid, "--sid"), (bad_name, "--friendly-name"), (bad_length, "--code-length")):
        assert result.returncode == 2 and named in result.stderr
    assert not (tmp_path / "otp.db").exists()
