"""DATABASE_URL as hosts hand it out (postgres://, postgresql://, sqlite:///) -> the async driver form."""

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
EXPECTED = "expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"


def normalize_database_url(value: str) -> str:
    """The URL with the driver this service runs on; ValueError (one line) when it is no such URL."""
    scheme, separator, rest = value.strip().partition("://")
    driver = _DRIVERS.get(scheme.lower())
    if not separator:
        raise ValueError(EXPECTED)
    if driver is None:
        raise ValueError(f"unsupported scheme {scheme!r}: {EXPECTED}")
    url = f"{driver}://{rest}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(EXPECTED) from None
    if driver.startswith("postgresql") and not parsed.database:
        raise ValueError(f"no database name: {EXPECTED}")
    if driver.startswith("sqlite") and not parsed.database:
        raise ValueError("no file: an in-memory SQLite database would lose everything at exit; " + EXPECTED)
    if driver.startswith("postgresql") and "sslmode" in parsed.query:
        # asyncpg calls it `ssl`; hosts hand out libpq's `sslmode`.
        query = dict(parsed.query)
        query["ssl"] = query.pop("sslmode")
        url = parsed.set(query=query).render_as_string(hide_password=False)
    return url


def database_location(url: str) -> str:
    """What an operator needs to find the database: the absolute file, or host:port/name."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(Path(parsed.database or "").expanduser().resolve())
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"
