"""A Redis of the test's own stops under a running service: fail closed (503, nothing sent),
/-/ready says so, and the service recovers on its own when Redis is back."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.process import free_port, serve

pytestmark = pytest.mark.redis


@contextmanager
def redis_server(port: int, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield process
    finally:
        process.kill()
        process.wait()


def test_redis_outage_fails_closed_and_recovers(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server not installed")
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": "k" * 32,
        "RATE_LIMIT_STORAGE_URL": f"redis://127.0.0.1:{port}/0",
        "SMS_DEFAULT_SENDER": "ACME",
    }
    with redis_server(port, tmp_path) as redis, serve(env, tmp_path / "serve.log") as (base_url, _):
        http = httpx.Client(base_url=base_url, timeout=10)
        assert http.post("/verify/start", json={"to": "+393331234567"}).status_code == 201
        assert http.get("/-/ready").status_code == 200
        redis.kill()
        redis.wait()

        began = time.monotonic()
        answers = [
            http.post("/send", json={"receiver": "+393331234568", "body": "hello"}),
            http.post("/verify/start", json={"to": "+393331234569"}),
            http.post("/verify/check", json={"to": "+393331234567", "code": "123456"}),
        ]
        assert time.monotonic() - began < 5  # every limit call is bounded; no request hangs
        for answer in answers:
            assert (answer.status_code, answer.json()["code"]) == (503, "limits_unavailable"), answer.text
            assert int(answer.headers["Retry-After"]) >= 1
        ready = http.get("/-/ready")
        assert ready.status_code == 503 and "RATE_LIMIT_STORAGE_URL" in ready.json()["message"]
        assert len(http.get("/dev/outbox").json()["messages"]) == 1  # nothing sent while down

        with redis_server(port, tmp_path):
            deadline = time.monotonic() + 5
            while (answer := http.post("/verify/start", json={"to": "+393331234569"})).status_code == 503:
                assert time.monotonic() < deadline, "no recovery within 5 s of Redis coming back"
                time.sleep(0.2)
            assert answer.status_code == 201
            assert http.get("/-/ready").status_code == 200
            deadline = time.monotonic() + 5  # sent at once, or from the outbox right after
            while len(http.get("/dev/outbox").json()["messages"]) < 2:
                assert time.monotonic() < deadline, "the code never went out after recovery"
                time.sleep(0.2)
