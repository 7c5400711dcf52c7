"""The live app fixtures of tests/api (a real socket, on SQLite and PostgreSQL)."""

from tests.api.conftest import live, live_database

__all__ = ["live", "live_database"]
