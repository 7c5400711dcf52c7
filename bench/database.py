"""The benchmark's databases: a SQLite file in a temp dir, and PostgreSQL when reachable.

Bulk pre-fill of `verifications` is plain SQL in one statement (a recursive CTE on SQLite,
generate_series on PostgreSQL): 10^6 rows take seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "otp_bench"

# Columns written by the pre-fill; the rest take their NULL defaults.
_COLUMNS = (
    'id, "to", channel, status, code_salt, key_id, code_length, locale, send_attempts, '
    "check_attempts, max_check_attempts, created_at, updated_at, expires_at, last_sent_at"
)

# Row i: a distinct number (+39320 + 7 digits, never one the load uses); 1 in 20 still pending
# (expired long ago: nobody checked it), the rest approved / expired / canceled; created over
# the last 30 days.
_SQLITE_PREFILL = f"""
WITH RECURSIVE seq(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
INSERT INTO verifications ({_COLUMNS})
SELECT printf('VE%032x', i), printf('{{prefix}}%07d', i), 'sms',
       CASE i % 20 WHEN 0 THEN 'pending' WHEN 1 THEN 'expired' WHEN 2 THEN 'canceled' ELSE 'approved' END,
       printf('%064x', i), 'bench', 6, 'en', 1, 0, 5,
       datetime('now', printf('%+d seconds', -(i % 2592000))),
       datetime('now', printf('%+d seconds', -(i % 2592000))),
       datetime('now', printf('%+d seconds', 600 - i % 2592000)),
       datetime('now', printf('%+d seconds', -(i % 2592000)))
FROM seq
"""

_PG_PREFILL = f"""
INSERT INTO verifications ({_COLUMNS})
SELECT 'VE' || lpad(to_hex(i), 32, '0'), '{{prefix}}' || lpad(i::text, 7, '0'), 'sms',
       CASE i % 20 WHEN 0 THEN 'pending' WHEN 1 THEN 'expired' WHEN 2 THEN 'canceled' ELSE 'approved' END,
       md5(i::text) || md5((i + 1)::text), 'bench', 6, 'en', 1, 0, 5,
       now() - make_interval(secs => i % 2592000), now() - make_interval(secs => i % 2592000),
       now() - make_interval(secs => i % 2592000 - 600), now() - make_interval(secs => i % 2592000)
FROM generate_series($1::bigint, $2::bigint) AS i
"""

# Pending, unexpired verifications for the floor's check endpoint (one row per check).
_SQLITE_FLOOR_ROWS = f"""
WITH RECURSIVE seq(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
INSERT INTO verifications ({_COLUMNS})
SELECT printf('VF%032x', i), printf('{{prefix}}%07d', i), 'sms', 'pending', printf('%064x', i), 'bench',
       6, 'en', 1, 0, 5, datetime('now'), datetime('now'), datetime('now', '+3600 seconds'), datetime('now')
FROM seq
"""

_PG_FLOOR_ROWS = f"""
INSERT INTO verifications ({_COLUMNS})
SELECT 'VF' || lpad(to_hex(i), 32, '0'), '{{prefix}}' || lpad(i::text, 7, '0'), 'sms', 'pending',
       md5(i::text) || md5((i + 1)::text), 'bench', 6, 'en', 1, 0, 5, now(), now(),
       now() + interval '1 hour', now()
FROM generate_series($1::bigint, $2::bigint) AS i
"""


def pg_reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Backend:
    name: str  # "sqlite" | "postgresql"
    url: str  # SQLAlchemy async URL, as DATABASE_URL
    sqlite_path: Path | None = None

    @property
    def pg_dsn(self) -> str:
        return self.url.replace("postgresql+asyncpg://", "postgresql://")


def sqlite_backend(directory: Path) -> Backend:
    path = directory / "bench.db"
    return Backend(name="sqlite", url=f"sqlite+aiosqlite:///{path}", sqlite_path=path)


async def _pg_admin(statements: list[str]) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def postgres_backend() -> Backend:
    """A dedicated, fresh database otp_bench on the local server (created through `test`)."""
    asyncio.run(
        _pg_admin([f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)', f'CREATE DATABASE "{PG_BENCH_DB}"'])
    )
    return Backend(name="postgresql", url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_BENCH_DB}")


def drop_postgres() -> None:
    asyncio.run(_pg_admin([f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)']))


def migrate(backend: Backend, otpservice_bin: str, env: dict[str, str]) -> None:
    """`otpservice migrate` against the backend: the only way the schema is made."""
    result = subprocess.run(
        [otpservice_bin, "migrate"],
        env={**env, "DATABASE_URL": backend.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"otpservice migrate failed on {backend.name}:\n{result.stderr[-2000:]}")


def count_verifications(backend: Backend) -> int:
    if backend.sqlite_path is not None:
        with sqlite3.connect(backend.sqlite_path, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM verifications").fetchone()[0])

    async def count() -> int:
        import asyncpg

        connection = await asyncpg.connect(backend.pg_dsn)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM verifications"))
        finally:
            await connection.close()

    return asyncio.run(count())


def _insert_range(
    backend: Backend, sqlite_sql: str, pg_sql: str, prefix: str, first: int, last: int, analyze: bool
) -> None:
    if last < first:
        return
    if backend.sqlite_path is not None:
        connection = sqlite3.connect(backend.sqlite_path, timeout=30)
        try:
            connection.execute(sqlite_sql.replace("{prefix}", prefix), (first, last))
            connection.commit()
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        return

    async def insert() -> None:
        import asyncpg

        connection = await asyncpg.connect(backend.pg_dsn)
        try:
            await connection.execute(pg_sql.replace("{prefix}", prefix), first, last)
            if analyze:
                await connection.execute("ANALYZE verifications")
        finally:
            await connection.close()

    asyncio.run(insert())


def prefill_verifications(
    backend: Backend, target_rows: int, first_index: int, prefix: str = "+39320"
) -> tuple[int, float]:
    """Top `verifications` up to `target_rows` rows, numbering the new rows from `first_index`
    (the caller keeps the count, so that two calls never make the same id); returns
    (rows added, seconds taken).

    PostgreSQL gets an ANALYZE afterwards (what autovacuum would soon do on its own);
    SQLite keeps no statistics unless asked, so none are made there either.
    """
    began = time.perf_counter()
    missing = max(0, target_rows - count_verifications(backend))
    _insert_range(backend, _SQLITE_PREFILL, _PG_PREFILL, prefix, first_index, first_index + missing - 1, analyze=True)
    return missing, time.perf_counter() - began


def add_floor_check_rows(backend: Backend, rows: int, prefix: str) -> list[str]:
    """`rows` pending verifications of numbers prefix + 7 digits; returns those numbers."""
    _insert_range(backend, _SQLITE_FLOOR_ROWS, _PG_FLOOR_ROWS, prefix, 0, rows - 1, analyze=False)
    return [f"{prefix}{i:07d}" for i in range(rows)]


def delete_floor_check_rows(backend: Backend) -> None:
    """Remove the floor's rows (ids VF...), whatever the floor's check did to them."""
    sql = "DELETE FROM verifications WHERE id LIKE 'VF%'"
    if backend.sqlite_path is not None:
        connection = sqlite3.connect(backend.sqlite_path, timeout=30)
        try:
            connection.execute(sql)
            connection.commit()
        finally:
            connection.close()
        return

    async def delete() -> None:
        import asyncpg

        connection = await asyncpg.connect(backend.pg_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(delete())
