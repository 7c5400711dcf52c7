"""The service the browser tests drive: a real `otpservice serve` process, or (for the tests that
must reach into it, such as tripping the stand-in breaker) the app under uvicorn in a thread."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from otpservice.app import create_app
from otpservice.settings import Settings
from tests.admin.traffic import ADMIN_KEY, API_KEY
from tests.process import free_port, serve

SECRET = "browser-test-secret-key-0123456789abcdef"


def service_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/console.db",
        "SERVICE_PROVIDER": "console",
        "OTP_SECRET_KEY": SECRET,
        "ADMIN_API_KEYS": ADMIN_KEY,
        "API_KEYS": API_KEY,
        "OTP_MAX_REQUESTS_PER_IP_MINUTE": "1000",
        "RATE_LIMIT_MAX_REQUESTS": "1000",
        "SMS_RATE_LIMIT": "1000",
    }


@contextmanager
def service_process(tmp_path: Path) -> Iterator[str]:
    with serve(service_env(tmp_path), tmp_path / "service.log") as (base_url, _):
        yield base_url


@contextmanager
def service_in_thread(tmp_path: Path, **extra: str) -> Iterator[tuple[str, Starlette]]:
    """uvicorn on a free port in a thread of this process; yields its URL and the app."""
    env = {**service_env(tmp_path), **extra}
    settings = Settings(**{name.lower(): value for name, value in env.items()})  # type: ignore[arg-type]
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="console-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the in-thread service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=20)
