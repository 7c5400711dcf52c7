"""The overview keeps final hours and queries only the rest: its sums equal one direct query."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from otpservice.admin.overview import HOUR, Overview, merge_countries, merge_providers
from otpservice.clock import FakeClock, to_datetime
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.migrate import upgrade_to_head
from otpservice.db.models import Message, Verification
from otpservice.db.reports import ReportStore

START = 1_800_000_000.0
TTL = 600


@pytest.fixture
async def reports(sqlite_url: str) -> AsyncIterator[ReportStore]:
    await asyncio.to_thread(upgrade_to_head, sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    rows: list[object] = []
    # One verification (and its message) every 7 minutes over 9 days, in three countries.
    for index in range(9 * 24 * 60 // 7):
        at = to_datetime(START - index * 7 * 60)
        vid, mid = f"VE{index:032x}", f"SM{index:032x}"
        rows.append(
            Verification(
                id=vid,
                to=f"+4474{index:08d}",
                country=("GB", "US", "DE")[index % 3],
                channel="sms",
                status="approved" if index % 4 else "expired",
                code_salt="s",
                key_id="k",
                code_length=6,
                locale="en",
                send_attempts=1,
                check_attempts=1,
                max_check_attempts=5,
                created_at=at,
                updated_at=at,
                expires_at=at + timedelta(seconds=TTL),
            )
        )
        rows.append(
            Message(
                id=mid,
                provider=("twilio", "vonage")[index % 2],
                kind="otp",
                receiver="+447400000000",
                segments=1,
                status="failed" if index % 5 == 0 else "delivered",
                attempts=1,
                verification_id=vid,
                created_at=at,
                updated_at=at,
            )
        )
    async with sessions.begin() as session:
        session.add_all(rows)
    try:
        yield ReportStore(sessions)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("period,seconds", [("1h", 3600), ("24h", 86400), ("7d", 7 * 86400)])
async def test_kept_hours_plus_live_queries_equal_a_direct_query(
    reports: ReportStore, period: str, seconds: int
) -> None:
    clock = FakeClock(START + 1)
    overview = Overview(reports, clock, otp_ttl=TTL, cache_seconds=0)
    for step in (0, 1234, HOUR, 5 * HOUR + 17):  # the period slides across hour boundaries
        clock.advance(step)
        now = clock.now()
        figures = await overview.figures(period)
        since = to_datetime(now - seconds)
        assert figures.countries == merge_countries(await reports.countries(since))
        assert figures.providers == merge_providers(await reports.providers(since))
        assert figures.totals.started > 0 or step > 0  # the data ends at START
