"""What `serve` and `check-config` check before anything runs: the database and the limit
storage answer, and the process layout (--workers) can keep the limits correct.

Every failure is a SettingsError: one line naming the variable, never a traceback.
"""

import asyncio
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from otpservice.db.engine import make_engine
from otpservice.db.migrate import is_at_head
from otpservice.db.urls import database_location
from otpservice.limits.storage import open_limit_storage
from otpservice.settings import Settings, SettingsError

CONNECT_TIMEOUT_SECONDS = 5.0


def reason(exc: BaseException) -> str:
    """The driver's own words, on one line and short (never the URL, which may hold a password)."""
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's exception
    words = " ".join(str(cause).split()) or type(cause).__name__
    return words[:200]


def sqlite_file(settings: Settings) -> Path | None:
    return Path(database_location(settings.database_url)) if settings.is_sqlite else None


async def reach_database(settings: Settings, *, require_head: bool) -> str:
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
    engine = make_engine(settings.database_url, **({} if path else {"connect_args": {
        "timeout": CONNECT_TIMEOUT_SECONDS}}))
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
            await storage.ping()
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
        return (f"RATE_LIMIT_STORAGE_URL: --workers {workers} needs limits the workers share (redis://...); "
                "with memory:// each worker would count alone")
    if settings.is_sqlite:
        return (f"DATABASE_URL: --workers {workers} needs PostgreSQL; SQLite's write lock is held per process "
                "and the workers would contend for the file")
    if "console" in (settings.service_provider, settings.sms_fallback_provider):
        return (f"SERVICE_PROVIDER: --workers {workers} cannot run the console provider, whose /dev/outbox is "
                "kept in each worker's memory")
    return None
