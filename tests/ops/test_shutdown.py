"""SIGTERM mid-burst: requests in flight finish, and every 2xx has its row."""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ops.helpers import closed_port

BIN = Path(sys.executable).parent / "otpservice"
BURST = 150


async def _wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server exited during start-up"
            try:
                if (await client.get("/-/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not come up")


async def _burst(base_url: str, process: subprocess.Popen[bytes]) -> tuple[int, list[httpx.Response | Exception]]:
    """(requests answered when SIGTERM was sent, every outcome)."""
    # A connection per request, so that no request rides on a keep-alive connection the server closes.
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def one(index: int) -> httpx.Response | Exception:
            try:
                return await client.post(
                    "/send", json={"sender": "ACME", "receiver": f"+393331{index:06d}", "body": f"message {index}"}
                )
            except httpx.TransportError as exc:
                return exc

        tasks = [asyncio.create_task(one(i)) for i in range(BURST)]
        done = 0
        while done < BURST // 5:  # SIGTERM once a fifth has been answered: the rest are in flight
            done = sum(task.done() for task in tasks)
            await asyncio.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        return done, list(await asyncio.gather(*tasks))


async def test_sigterm_mid_burst_loses_no_accepted_message(tmp_path: Path) -> None:
    port = closed_port()
    database = tmp_path / "otp.db"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "OTP_SECRET_KEY": "shutdown-test-key-0123456789abcdef0123456789",
        "RATE_LIMIT_MAX_REQUESTS": "100000",
        "LOG_LEVEL": "info",
    }
    with open(tmp_path / "server.log", "wb") as log:
        process = subprocess.Popen([str(BIN), "serve"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            await _wait_until_up(base_url, process)
            answered_before_signal, results = await _burst(base_url, process)
            exit_code = await asyncio.to_thread(process.wait, 30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    server_log = (tmp_path / "server.log").read_text()
    # uvicorn re-raises the SIGTERM it handled once shut down, so the process ends by that signal.
    assert exit_code in (0, -signal.SIGTERM), server_log
    assert "Application shutdown complete" in server_log  # graceful: the lifespan closed the services
    answered = [r for r in results if isinstance(r, httpx.Response)]
    accepted = [r.json()["sid"] for r in answered if 200 <= r.status_code < 300]
    # Requests in flight at SIGTERM were served, not dropped.
    assert len(accepted) > answered_before_signal, (answered_before_signal, len(accepted), server_log)
    assert all(r.status_code < 500 for r in answered), [r.text for r in answered if r.status_code >= 500]
    with sqlite3.connect(database) as db:
        stored = {sid for row in db.execute("SELECT id, provider_sid FROM messages") for sid in row if sid}
    assert set(accepted) <= stored, set(accepted) - stored
