"""How long the console's overview takes to render with 10^6 verifications (SPEC 12: < 300 ms).

Fills a fresh SQLite database (migrated to head) with N verifications spread evenly over the
last 30 days (the default retention) and one message each, by bulk INSERT ... SELECT; then
renders GET /admin?period=1h|24h|7d through the app itself (login, session cookie, queries,
template, SVG), its 2 s cache defeated by moving the app's clock, and prints the times: the
first render of a period (which also reads that period's final hours, kept afterwards) and
the renders after it.

    .venv/bin/python bench/console_overview.py [--rows 1000000] [--renders 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from otpservice.app import create_app
from otpservice.clock import FakeClock
from otpservice.db.migrate import upgrade_to_head
from otpservice.settings import Settings

ADMIN_KEY = "bench-admin-key-0123456789abcdef"
SPAN_SECONDS = 30 * 86400
COUNTRIES = ("GB", "US", "DE", "IN", "FR", "BR", "NG", "ID")
STAMP = "strftime('%Y-%m-%d %H:%M:%S', {epoch}, 'unixepoch') || '.000000'"

FILL_VERIFICATIONS = f"""
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :rows - 1)
INSERT INTO verifications (id, "to", country, channel, status, code_salt, key_id, code_length, locale,
    send_attempts, check_attempts, max_check_attempts, last_message_id, created_at, updated_at, expires_at)
SELECT printf('VE%032x', i), printf('+4474%08d', i),
    CASE i % 8 {" ".join(f"WHEN {n} THEN '{c}'" for n, c in enumerate(COUNTRIES))} END,
    'sms', CASE WHEN i % 10 < 7 THEN 'approved' WHEN i % 10 < 9 THEN 'expired' ELSE 'failed' END,
    'salt', 'key', 6, 'en', 1, 1, 5, printf('SM%032x', i),
    {STAMP.format(epoch=":now - (i * :span / :rows)")}, {STAMP.format(epoch=":now - (i * :span / :rows)")},
    {STAMP.format(epoch=":now - (i * :span / :rows) + 600")}
FROM seq
"""

FILL_MESSAGES = """
INSERT INTO messages (id, provider, provider_sid, kind, receiver, segments, status, attempts, verification_id,
    next_attempt_at, created_at, updated_at)
SELECT 'SM' || substr(id, 3), CASE WHEN rowid % 3 = 0 THEN 'vonage' ELSE 'twilio' END, NULL, 'otp', "to", 1,
    CASE WHEN status = 'failed' THEN 'failed' WHEN rowid % 50 = 0 THEN 'undelivered'
         WHEN rowid % 5 = 0 THEN 'sent' ELSE 'delivered' END,
    1, id, NULL, created_at, created_at
FROM verifications
"""


def fill(path: Path, rows: int, now: float) -> float:
    began = time.perf_counter()
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute(FILL_VERIFICATIONS, {"rows": rows, "now": int(now), "span": SPAN_SECONDS})
        connection.execute(FILL_MESSAGES)
        connection.commit()
    finally:
        connection.close()
    return time.perf_counter() - began


def query_plans(path: Path) -> list[str]:
    """SQLite's plan of the per-country query: it must read indexes only."""
    connection = sqlite3.connect(path)
    try:
        plan = connection.execute(
            "EXPLAIN QUERY PLAN SELECT v.country, count(*), sum(CASE WHEN EXISTS (SELECT 1 FROM messages m "
            "WHERE m.verification_id = v.id AND m.status IN ('sent','delivered','undelivered')) THEN 1 ELSE 0 END), "
            "sum(CASE WHEN v.status = 'approved' THEN 1 ELSE 0 END) FROM verifications v "
            "WHERE v.created_at >= '2000-01-01' GROUP BY v.country"
        ).fetchall()
    finally:
        connection.close()
    return [row[-1] for row in plan]


async def render_times(database_url: str, now: float, renders: int) -> dict[str, list[float]]:
    clock = FakeClock(now)
    settings = Settings(
        database_url=database_url,
        otp_secret_key="bench-secret-key-0123456789abcdef",
        admin_api_keys=ADMIN_KEY,
        api_keys="bench-api-key-0123456789",
        log_level="warning",
    )
    app = create_app(settings, clock=clock)
    times: dict[str, list[float]] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client,
    ):
        form = await client.get("/admin/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        assert (await client.post("/admin/login", data={"csrf": token.group(1), "key": ADMIN_KEY})).status_code == 303
        for period in ("1h", "24h", "7d"):
            for _ in range(renders):
                clock.advance(10)  # past the overview's 2 s cache: every render queries
                began = time.perf_counter()
                page = await client.get("/admin", params={"period": period})
                times.setdefault(period, []).append(time.perf_counter() - began)
                assert page.status_code == 200 and "data-country" in page.text, page.text[:300]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--renders", type=int, default=6, help="per period, at least 2")
    parser.add_argument("--keep", type=Path, help="build the database in DIR and leave it there")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="console-bench-"))
    path = folder / "console.db"
    path.unlink(missing_ok=True)
    database_url = f"sqlite+aiosqlite:///{path}"
    upgrade_to_head(database_url)
    now = time.time()
    seconds = fill(path, options.rows, now)
    print(
        f"filled {options.rows} verifications + {options.rows} messages over 30 days in {seconds:.1f} s "
        f"({path.stat().st_size / 2**20:.0f} MiB, SQLite)"
    )
    print("per-country query plan: " + " | ".join(query_plans(path)))
    times = asyncio.run(render_times(database_url, now, options.renders))
    per_day = options.rows / 30
    print(
        "(first: the process reads the period's final hours once; then: each render's own queries, "
        "the recent hours and the partial first hour)"
    )
    for period, days in (("1h", 1 / 24), ("24h", 1), ("7d", 7)):
        first, *then = times[period]
        print(
            f"GET /admin?period={period:<3} ~{per_day * days:>9,.0f} verifications in period: "
            f"first {first * 1000:6.1f} ms; then median {statistics.median(then) * 1000:6.1f} ms, "
            f"max {max(then) * 1000:6.1f} ms over {len(then)} renders (target < 300 ms)"
        )


if __name__ == "__main__":
    main()
