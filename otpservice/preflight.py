"""What `serve` and `check-config` check before anything runs: the database and the limit
storage answer, and the process layout (--workers) can keep the limits correct; and
`check-config`'s report (the settings with secrets masked, then what was reached).

Every failure is a SettingsError: one line naming the variable, never a traceback.
"""

import asyncio
import ipaddress
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from otpservice.db.engine import make_engine
from otpservice.db.migrate import is_at_head
from otpservice.db.urls import database_location
from otpservice.limits.storage import open_limit_storage
from otpservice.settings import DatabaseSettings, Settings, SettingsError

CONNECT_TIMEOUT_SECONDS = 5.0
MASK = "********"


def reason(exc: BaseException) -> str:
    """The driver's own words, on one line and short (never the URL, which may hold a password)."""
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's exception
    words = " ".join(str(cause).split()) or type(cause).__name__
    return words[:200]


def sqlite_file(settings: DatabaseSettings) -> Path | None:
    return Path(database_location(settings.database_url)) if settings.is_sqlite else None


async def reach_database(settings: DatabaseSettings, *, require_head: bool) -> str:
    """Connect and run one query; say what was reached. SQLite: a missing file is fine as long
    as its folder can hold it (serve and migrate create it); nothing is created here."""
    location = database_location(settings.database_url)
    path = sqlite_file(settings)
    if path is not None and not path.exists():
        if not path.parent.is_dir():
            raise SettingsError(f"DATABASE_URL: folder {path.parent} does not exist")
        if not os.access(path.parent, os.W_OK):
            raise SettingsError(f"DATABASE_URL: folder {path.parent} is not writable")
        return f"database: {location} (not created yet: serve or migrate creates it)"
    engine = make_engine(
        settings.database_url, **({} if path else {"connect_args": {"timeout": CONNECT_TIMEOUT_SECONDS}})
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS * 2):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            at_head = await is_at_head(engine, settings.database_url)
    except (Exception, TimeoutError) as exc:
        raise SettingsError(f"DATABASE_URL: cannot connect to {location}: {reason(exc)}") from None
    finally:
        await engine.dispose()
    if require_head and not at_head:
        raise SettingsError(f"DATABASE_URL: {location} is not at the latest migration; run `otpservice migrate`")
    return f"database: {location} reached, schema {'at the latest migration' if at_head else 'behind'}"


async def prepare_or_explain(settings: Settings) -> None:
    """wiring.prepare_database (SQLite: migrate; PostgreSQL: at head?), its failures in one line."""
    from otpservice.wiring import prepare_database

    try:
        await prepare_database(settings)
    except SettingsError:
        raise
    except Exception as exc:
        location = database_location(settings.database_url)
        raise SettingsError(f"DATABASE_URL: cannot prepare {location}: {reason(exc)}") from None


async def reach_limit_storage(settings: Settings) -> str:
    url = settings.rate_limit_storage_url
    if url.startswith("memory://"):
        return "limit storage: memory:// (this process alone)"
    parsed = make_url(url.replace("rediss://", "redis://", 1))
    where = f"{parsed.host or 'localhost'}:{parsed.port or 6379}/{parsed.database or 0}"
    storage = open_limit_storage(url, settings.rate_limit_key_prefix)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            if storage.redis is not None:
                await storage.redis.ping()  # the client itself: its error says why
            if not await storage.ping():
                raise ConnectionError("the limit storage did not answer")
    except (Exception, TimeoutError) as exc:
        raise SettingsError(f"RATE_LIMIT_STORAGE_URL: cannot reach Redis at {where}: {reason(exc)}") from None
    finally:
        await storage.close()
    return f"limit storage: Redis at {where} reached"


def workers_refusal(settings: Settings, workers: int) -> str | None:
    """Why N worker processes would break a limit or a guarantee, or None when they can share."""
    if workers <= 1:
        return None
    if settings.rate_limit_storage_url.startswith("memory://"):
        return (
            f"RATE_LIMIT_STORAGE_URL: --workers {workers} needs limits the workers share (redis://...); "
            "with memory:// each worker would count alone"
        )
    if settings.is_sqlite:
        return (
            f"DATABASE_URL: --workers {workers} needs PostgreSQL; SQLite's write lock is held per process "
            "and the workers would contend for the file"
        )
    if "console" in (settings.service_provider, settings.sms_fallback_provider):
        return (
            f"SERVICE_PROVIDER: --workers {workers} cannot run the console provider, whose /dev/outbox is "
            "kept in each worker's memory"
        )
    return None


def is_loopback_host(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def refuse_open_relay(settings: Settings) -> None:
    """Why `serve` would be an open SMS relay: a real provider, no API_KEYS, reachable from the
    network. ALLOW_UNAUTHENTICATED=true lets it start (something in front must authenticate)."""
    providers = (settings.service_provider, settings.sms_fallback_provider)
    real = [name for name in providers if name not in (None, "console")]
    if settings.api_keys or not real or is_loopback_host(settings.host):
        return
    if settings.allow_unauthenticated:
        logging.getLogger("otpservice").warning(
            "ALLOW_UNAUTHENTICATED=true: API_KEYS is unset and %s listens on %s: anyone who reaches it can send SMS",
            real[0],
            settings.host,
        )
        return
    raise SettingsError(
        f"API_KEYS: required to serve {real[0]} on {settings.host} (not a loopback address), else anyone who "
        "reaches it can send SMS; set API_KEYS, or ALLOW_UNAUTHENTICATED=true when a proxy in front authenticates"
    )


def masked_settings(settings: Settings) -> dict[str, str]:
    """NAME -> value as an operator would write it, with every secret shown as MASK."""
    shown: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            text = MASK
        elif isinstance(value, list):
            text = ",".join(MASK if isinstance(item, SecretStr) else str(item) for item in value)
        elif value is None:
            text = ""
        elif isinstance(value, bool):
            text = str(value).lower()
        else:
            text = _mask_url_password(str(value))
        shown[name.upper()] = text
    return shown


def _mask_url_password(value: str) -> str:
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if not password:
        return value
    netloc = parts.netloc.replace(f":{password}@", f":{MASK}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_config(settings: Settings) -> int:
    """`check-config`: print the effective settings, then reach each dependency and ask the provider
    once for its balance; 2 when the provider refuses the credentials, 1 when any other check fails."""
    from otpservice.provider_setup import check_credentials, check_senders
    from otpservice.verify.factory import check_verification_settings

    for name, value in sorted(masked_settings(settings).items()):
        print(f"{name}={value}")
    print(f"database: {database_location(settings.database_url)}", file=sys.stderr)
    failures = 0
    checks: list[Callable[[], str | None]] = [
        lambda: check_verification_settings(settings),
        lambda: check_senders(settings),
        lambda: refuse_open_relay(settings),
        lambda: asyncio.run(reach_database(settings, require_head=not settings.is_sqlite)),
        lambda: asyncio.run(reach_limit_storage(settings)),
    ]
    for check in checks:
        try:
            said = check()
        except SettingsError as exc:
            failures += 1
            print(f"otpservice: {exc}", file=sys.stderr)
        else:
            if said:
                print(said, file=sys.stderr)
    try:
        for warning in asyncio.run(check_credentials(settings)):
            print(f"otpservice: warning: {warning}", file=sys.stderr)
    except SettingsError as exc:
        print(f"otpservice: {exc}", file=sys.stderr)
        return 2
    if failures:
        print(f"configuration has {failures} problem(s)", file=sys.stderr)
        return 1
    print("configuration is valid", file=sys.stderr)
    return 0
