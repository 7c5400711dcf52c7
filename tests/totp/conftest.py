"""A real `otpservice serve` process on SQLite and PostgreSQL (the clock is the system's: codes
are made with the same clock, and one step of skew covers a step boundary in between)."""

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.api.conftest import live, live_database  # noqa: F401  (the SDK tests' live app)
from tests.process import serve

API_KEY = "totp-test-api-key-0123456789"
SECRET_KEY = "totp-test-secret-key-0123456789abcdef"


@dataclass
class Served:
    url: str
    database_url: str
    log: Path

    @property
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)


def now_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(time.time())


def next_code(secret: str) -> str:
    """The code of the coming step (inside the default skew): never the one just used."""
    return pyotp.TOTP(secret).at(time.time() + 30)


ServedFactory = Callable[..., AbstractContextManager[Served]]


@pytest.fixture
def served(live_database: str, tmp_path: Path) -> ServedFactory:
    @contextmanager
    def factory(**env: str) -> Iterator[Served]:
        log = tmp_path / "service.log"
        values = {
            "DATABASE_URL": live_database,
            "OTP_SECRET_KEY": SECRET_KEY,
            "API_KEYS": API_KEY,
            "CONSOLE_PROVIDER_ALLOWED": "true",
            "LOG_LEVEL": "debug",
            **env,
        }
        with serve(values, log) as (url, _):
            yield Served(url=url, database_url=live_database, log=log)

    return factory
