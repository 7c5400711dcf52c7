"""Real `otpservice serve` processes: SIGTERM while the worker drains the outbox, and a send
killed mid-call with the queue off."""

import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.fakes import FakeProvider, Reply, start_fake
from tests.process import serve

DOWN = Reply(503, json={"code": 20500, "message": "down", "status": 503})
PROVIDER_TIMEOUT = 3


def service_env(fake: FakeProvider, database: Path, **extra: str) -> dict[str, str]:
    env = fake.environment()
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        OTP_SECRET_KEY="delivery-process-test-key-0123456789",
        RATE_LIMIT_MAX_REQUESTS="1000",
        PROVIDER_TIMEOUT=str(PROVIDER_TIMEOUT),
        **extra,
    )
    return env


def statuses(database: Path) -> list[str]:
    with sqlite3.connect(database, timeout=10) as db:
        return [row[0] for row in db.execute("SELECT status FROM messages ORDER BY created_at")]


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_sigterm_finishes_the_call_in_flight_and_leaves_the_rest_queued(tmp_path: Path) -> None:
    queued = 8
    database = tmp_path / "otp.db"
    with start_fake("twilio") as (_, fake):
        for index in range(queued):  # every first call fails: all of them wait in the outbox
            fake.push_when("Body", f"message {index}", DOWN)
        env = service_env(fake, database, SMS_QUEUE_ENABLED="true", SMS_RATE_LIMIT="100", LOG_LEVEL="info")
        with serve(env, tmp_path / "server.log") as (base_url, process):
            for index in range(queued):
                response = httpx.post(
                    base_url + "/send",
                    json={"sender": "ACME", "receiver": f"+39333123450{index}", "body": f"message {index}"},
                )
                assert response.status_code == 202, response.text
            fake.delay = 1.0  # from now on each provider call takes a second
            wait_for(lambda: len(fake.sends) > queued)  # the worker has a call in flight
            process.send_signal(signal.SIGTERM)
            called = len(fake.sends)
            # The call in flight finishes (at most PROVIDER_TIMEOUT), nothing else starts.
            exit_code = process.wait(timeout=PROVIDER_TIMEOUT + 2)
        log = (tmp_path / "server.log").read_text()
    assert exit_code in (0, -signal.SIGTERM), log
    assert len(fake.sends) == called, log
    final = statuses(database)
    assert final.count("sent") == called - queued
    assert final.count("queued") == queued - final.count("sent")  # left for the next process


def test_queue_off_a_send_killed_mid_call_fails_after_its_lease_and_is_never_sent_again(tmp_path: Path) -> None:
    database = tmp_path / "otp.db"
    with start_fake("twilio") as (_, fake):
        env = service_env(fake, database, SMS_QUEUE_ENABLED="false")
        fake.delay = 20.0  # the provider holds the call: the process dies during it
        with serve(env, tmp_path / "first.log") as (base_url, process):
            caller = threading.Thread(target=_post_ignoring_errors, args=(base_url,), daemon=True)
            caller.start()
            wait_for(lambda: len(fake.sends) == 1)
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert statuses(database) == ["sending"]
        fake.delay = 0.0
        with serve(env, tmp_path / "second.log"):
            # The lease (2 x PROVIDER_TIMEOUT) ends; the row is recovered as failed.
            wait_for(lambda: statuses(database) == ["failed"])
            time.sleep(1)  # a re-send would show up now
        assert len(fake.sends) == 1
    with sqlite3.connect(database) as db:
        [(message_id,)] = db.execute("SELECT id FROM messages").fetchall()
        events = [
            row[0]
            for row in db.execute("SELECT status FROM message_events WHERE message_id = ? ORDER BY id", (message_id,))
        ]
    assert events == ["ambiguous", "failed"]


def _post_ignoring_errors(base_url: str) -> None:
    try:
        httpx.post(base_url + "/send", json={"sender": "ACME", "receiver": "+393331234567", "body": "hi"}, timeout=30)
    except httpx.TransportError:
        pass
