"""Two `otpservice serve` processes on one PostgreSQL and one Redis, as replicas run."""

import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import reset_postgres
from tests.fakes import Reply, start_fake
from tests.process import BIN, serve

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def replica_env(postgres_database: str, redis_url: str, redis_prefix: str) -> dict[str, str]:
    await reset_postgres(postgres_database)
    env = {
        "DATABASE_URL": postgres_database,
        "RATE_LIMIT_STORAGE_URL": redis_url,
        "RATE_LIMIT_KEY_PREFIX": redis_prefix.replace(":", "-"),
        "OTP_SECRET_KEY": "replica-test-key-0123456789abcdef0123456789",
        "PATH": "/usr/bin:/bin",
        "CONSOLE_PROVIDER_ALLOWED": "true",
    }
    migrated = subprocess.run([str(BIN), "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    return env


@pytest.fixture
def two_replicas(replica_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    env = {**replica_env, **getattr(request, "param", {})}
    with serve(env, tmp_path / "a.log") as (first, _), serve(env, tmp_path / "b.log") as (second, _):
        yield [first, second]


@pytest.mark.parametrize(
    "two_replicas",
    [{"RATE_LIMIT_MAX_REQUESTS": "10", "RATE_LIMIT_TIME_WINDOW": "1h", "SMS_QUEUE_ENABLED": "false"}],
    indirect=True,
)
def test_the_global_limit_holds_across_replicas(two_replicas: list[str]) -> None:
    statuses = Counter()
    for index in range(16):
        response = httpx.post(
            two_replicas[index % 2] + "/send",
            json={"sender": "ACME", "receiver": f"+3933312345{index:02d}", "body": "hi"},
        )
        statuses[response.status_code] += 1
    assert statuses == {200: 10, 429: 6}


@pytest.mark.parametrize("two_replicas", [{"EXPONENTIAL_DELAY_BASE": "60"}], indirect=True)
def test_the_number_delay_and_verifications_are_shared(two_replicas: list[str]) -> None:
    first, second = two_replicas
    number = "+393331234567"
    started = httpx.post(first + "/verify/start", json={"to": number})
    assert started.status_code == 201
    delayed = httpx.post(second + "/verify/start", json={"to": number})
    assert delayed.status_code == 429 and delayed.json()["code"] == "number_delayed"
    body = httpx.get(first + "/dev/outbox").json()["messages"][0]["body"]
    digits = re.search(r"\b(\d{6})\b", body).group(1)  # type: ignore[union-attr]
    checked = httpx.post(second + "/verify/check", json={"id": started.json()["id"], "code": digits})
    assert checked.status_code == 200 and checked.json()["status"] == "approved"
    again = httpx.post(first + "/verify/check", json={"id": started.json()["id"], "code": digits})
    assert again.status_code == 404


def test_two_replicas_never_send_an_outbox_message_twice(replica_env: dict[str, str], tmp_path: Path) -> None:
    count = 30
    with start_fake("twilio") as (_, fake):
        env = {
            **replica_env,
            **fake.environment(),
            "SMS_QUEUE_ENABLED": "true",
            "SMS_RATE_LIMIT": "1000",
            "RATE_LIMIT_MAX_REQUESTS": "1000",
        }
        for index in range(count):  # each message's first call, whenever a worker's retry comes
            fake.push_when(
                "Body", f"message {index}", Reply(503, json={"code": 20500, "message": "down", "status": 503})
            )
        with serve(env, tmp_path / "a.log") as (first, _), serve(env, tmp_path / "b.log") as (second, _):
            ids = [
                httpx.post(
                    (first, second)[index % 2] + "/send",
                    json={"sender": "ACME", "receiver": f"+3933312345{index:02d}", "body": f"message {index}"},
                ).json()["sid"]
                for index in range(count)
            ]
            deadline = time.monotonic() + 40
            while (
                not (all_sent := all(httpx.get(f"{first}/messages/{sid}").json()["status"] == "sent" for sid in ids))
                and time.monotonic() < deadline
            ):
                time.sleep(0.3)
            time.sleep(1)
        calls = Counter(request.form["Body"] for request in fake.sends)
    # Each message: the refused direct call, then exactly one delivery by one of the replicas.
    assert all_sent
    assert calls == Counter({f"message {index}": 2 for index in range(count)})
