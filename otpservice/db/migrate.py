"""Alembic from code: upgrade to head, and tell whether a database is at head.

The scripts ship inside the package (otpservice._alembic is the top-level alembic/
folder), so this works from any working directory.
"""

import importlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine


def script_location() -> str:
    try:
        package = importlib.import_module("otpservice._alembic")
    except ImportError:
        # An editable install of a checkout: setuptools' finder cannot map a folder without
        # __init__.py under a regular package, so use the checkout's own alembic/ folder.
        return str(Path(__file__).resolve().parents[2] / "alembic")
    return str(Path(next(iter(package.__path__))))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", script_location())
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade_to_head(database_url: str) -> list[tuple[str, str]]:
    """Blocking: run from a thread or before the event loop starts. Returns the revisions
    applied, oldest first, as (revision, message)."""
    config = alembic_config(database_url)
    applied: list[tuple[str, str]] = []

    def record(*, step: Any, **_: Any) -> None:
        if step.is_upgrade:
            applied.extend((script.revision, _first_line(script.doc)) for script in step.up_revisions if script)

    config.attributes["on_version_apply"] = record
    command.upgrade(config, "head")
    return applied


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def head_revisions(database_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads()))


async def is_at_head(engine: AsyncEngine, database_url: str) -> bool:
    return await current_revisions(engine) == head_revisions(database_url)
