"""Pytest fixtures for the fake providers. Import the ones a test module uses:

from tests.fakes.fixtures import fake_twilio, provider_app  # noqa: F401

async def test_x(fake_twilio: TwilioFake, provider_app: ProviderApp) -> None:
    async with provider_app(fake_twilio, twilio_empty_balance_check=True) as client:
        ...
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from otpservice.clock import FakeClock
from tests.conftest import make_settings, running_app
from tests.fakes import FAKES, FakeProvider, KaleyraFake, TwilioFake, VonageFake, start_fake

ProviderApp = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def fake_twilio() -> Iterator[TwilioFake]:
    with start_fake("twilio") as (_, fake):
        assert isinstance(fake, TwilioFake)
        yield fake


@pytest.fixture
def fake_kaleyra() -> Iterator[KaleyraFake]:
    with start_fake("kaleyra") as (_, fake):
        assert isinstance(fake, KaleyraFake)
        yield fake


@pytest.fixture
def fake_vonage() -> Iterator[VonageFake]:
    with start_fake("vonage") as (_, fake):
        assert isinstance(fake, VonageFake)
        yield fake


@pytest.fixture(params=sorted(FAKES))
def fake_provider(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """Each of the three fakes in turn: a test using it runs once per provider."""
    with start_fake(request.param) as (_, fake):
        yield fake


@pytest.fixture
def provider_app(sqlite_url: str, clock: FakeClock) -> ProviderApp:
    """`provider_app(fake, **settings_overrides)`: the whole app on SQLite, sending to `fake`."""

    def factory(fake: FakeProvider, **overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return running_app(make_settings(sqlite_url, **{**fake.settings(), **overrides}), clock=clock)

    return factory
