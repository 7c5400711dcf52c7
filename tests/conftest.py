"""Shared fixtures: settings, an app with its lifespan running, database backends."""

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from otpservice.app import create_app
from otpservice.clock import Clock, FakeClock
from otpservice.settings import Settings

# Where the PostgreSQL and Redis of the tests are (README, "Tests"). Each test run
# makes a database of its own on that server, and each test a Redis key prefix of its own.
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def url_address(url: str, default_port: int) -> tuple[str, int]:
    """(host, port) of a database or Redis URL, as its client would connect."""
    parts = urlsplit(url)
    return parts.hostname or "localhost", parts.port or default_port


def url_location(url: str, default_port: int, default_database: str) -> str:
    """host:port/database, as check-config says what it reached."""
    host, port = url_address(url, default_port)
    return f"{host}:{port}/{urlsplit(url).path.lstrip('/') or default_database}"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip with a visible reason locally; fail in CI, where the service must be there."""
    if reachable(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} at {host}:{port} is required in CI but unreachable")
    pytest.skip(f"{name} not reachable at {host}:{port}")


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "otp_secret_key": "test-secret-key-0123456789abcdef",
        "provider_http_transport": "httpx",
        # Most tests assert the statuses a caller gets with the outbox off; the
        # delivery tests turn it on (its default) explicitly.
        "sms_queue_enabled": False,
        # The same tests run on PostgreSQL with the console provider, which is refused there by default.
        "console_provider_allowed": True,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this test run's own (several runs may share the server)."""
    require_service("PostgreSQL", *url_address(POSTGRES_URL, 5432))
    name = f"otp_test_{os.getpid()}_{secrets.token_hex(3)}"
    _run_admin(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))
    finally:
        _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run_admin(statement: str) -> None:
    """Runs in its own thread: the fixture may be asked for from inside a running loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin(statement)).result()


async def _admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[str]:
    """Each storage test runs on SQLite and on PostgreSQL (fresh schema each time)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    url = request.getfixturevalue("postgres_database")
    await reset_postgres(url)
    yield url


@pytest.fixture
async def migrated_database_url(database_url: str) -> str:
    """The database at head (on PostgreSQL `serve` refuses a schema that is not)."""
    from otpservice.db.migrate import upgrade_to_head

    await asyncio.to_thread(upgrade_to_head, database_url)
    return database_url


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", *url_address(REDIS_URL, 6379))
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """Keys of this test alone, so that runs and tests sharing the server never meet."""
    return f"otptest:{os.getpid()}:{secrets.token_hex(4)}"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limit_storage(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings of the limit storage, once in process memory and once on Redis (keys of this test alone)."""
    if request.param == "memory":
        return {"rate_limit_storage_url": "memory://"}
    return {
        "rate_limit_storage_url": request.getfixturevalue("redis_url"),
        "rate_limit_key_prefix": request.getfixturevalue("redis_prefix"),
    }


async def reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from otpservice.db.engine import make_engine

    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/test.db"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@asynccontextmanager
async def running_app(
    settings: Settings, clock: Clock | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, behind an in-process AsyncClient."""
    app = create_app(settings, clock=clock, transport=transport)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 5000)), base_url="http://otpservice.test"
        ) as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client


async def read_outbox(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET /dev/outbox as a peer on 127.0.0.1, which it alone answers: for running_app's client (a
    network peer, 203.0.113.7) through a loopback client of the same app."""
    app = getattr(client, "app", None)
    if app is None:  # a client of a real `serve` process: on 127.0.0.1 already
        return await client.get("/dev/outbox", headers=headers)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as local:
        return await local.get("/dev/outbox", headers=headers)


AppFactory = Callable[..., Any]


@pytest.fixture
def app_client(sqlite_url: str, clock: FakeClock) -> AppFactory:
    """`async with app_client(**settings_overrides) as client:` on SQLite with the fake clock."""

    def factory(**overrides: Any) -> Any:
        return running_app(make_settings(sqlite_url, **overrides), clock=clock)

    return factory
