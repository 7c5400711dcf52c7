"""Fixtures of the verification tests: the whole app on SQLite and PostgreSQL, with the fake clock."""

from typing import Any

import pytest

from otpservice.clock import FakeClock
from tests.conftest import AppFactory, make_settings, running_app


@pytest.fixture
def verify_app(migrated_database_url: str, clock: FakeClock) -> AppFactory:
    """`async with verify_app(**settings_overrides) as client:` on each database backend."""

    def factory(**overrides: Any) -> Any:
        return running_app(make_settings(migrated_database_url, **overrides), clock=clock)

    return factory
