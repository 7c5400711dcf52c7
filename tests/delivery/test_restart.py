"""A message merely queued when the process is killed is sent once after the restart."""

import signal
import time
from pathlib import Path

import httpx

from tests.fakes import Reply, start_fake
from tests.process import serve

MESSAGES = 6


def test_queued_messages_survive_kill_9(tmp_path: Path) -> None:
    with start_fake("twilio") as (_, fake):
        env = fake.environment()
        env.update(
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/otp.db",
            SMS_QUEUE_ENABLED="true",
            OTP_SECRET_KEY="restart-test-key-0123456789abcdef0123",
            RATE_LIMIT_MAX_REQUESTS="1000",
        )
        for index in range(MESSAGES):  # refused while the first process lives, whatever its retries
            for _ in range(3):
                fake.push_when(
                    "Body", f"message {index}", Reply(503, json={"code": 20500, "message": "down", "status": 503})
                )
        with serve(env, tmp_path / "first.log") as (base_url, process):
            ids = []
            for index in range(MESSAGES):
                response = httpx.post(
                    base_url + "/send",
                    json={"sender": "ACME", "receiver": f"+39333123450{index}", "body": f"message {index}"},
                )
                assert response.status_code == 202, response.text
                ids.append(response.json()["sid"])
            process.send_signal(signal.SIGKILL)
            process.wait()
        fake.reset()  # the provider is back; forget the refused calls
        with serve(env, tmp_path / "second.log") as (base_url, _):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                states = [httpx.get(f"{base_url}/messages/{sid}").json()["status"] for sid in ids]
                if all(state == "sent" for state in states):
                    break
                time.sleep(0.3)
            assert states == ["sent"] * MESSAGES
            time.sleep(1)  # a double send would show up now
        bodies = sorted(request.form["Body"] for request in fake.sends)
        assert bodies == sorted(f"message {index}" for index in range(MESSAGES))
