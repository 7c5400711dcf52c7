"""A live app (real socket, fake clock) on SQLite and on PostgreSQL, for the twilio SDK tests."""

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from otpservice.clock import FakeClock
from otpservice.db.migrate import upgrade_to_head
from tests.api.live import live_app
from tests.conftest import make_settings, reset_postgres

_CODE = re.compile(r"(?<![A-Za-z0-9+/])\d{4,10}(?![A-Za-z0-9+/])")


@dataclass
class Live:
    url: str
    clock: FakeClock

    def outbox(self) -> list[str]:
        """Bodies the console provider sent, newest first."""
        return [m["body"] for m in httpx.get(self.url + "/dev/outbox", headers=self.native_auth).json()["messages"]]

    def last_code(self) -> str:
        match = _CODE.search(self.outbox()[0])
        assert match, "no code in the last message"
        return match.group()

    native_auth: dict[str, str]


LiveFactory = Callable[..., AbstractContextManager[Live]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live_database(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/live.db"
    url: str = request.getfixturevalue("postgres_database")
    asyncio.run(reset_postgres(url))
    upgrade_to_head(url)
    return url


@pytest.fixture
def live(live_database: str) -> LiveFactory:
    """`with live(**settings_overrides) as app:` the service on a free port, its clock frozen."""

    @contextmanager
    def factory(**overrides: Any) -> Iterator[Live]:
        clock = FakeClock()
        values = {"exponential_delay_base": 0.01, "exponential_delay_max": 0.01, **overrides}
        keys = values.get("api_keys")
        auth = {"Authorization": f"Bearer {keys.split(',')[0]}"} if keys else {}
        with live_app(make_settings(live_database, **values), clock) as url:
            yield Live(url=url, clock=clock, native_auth=auth)

    return factory
