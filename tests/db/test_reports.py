"""The console's queries on SQLite and PostgreSQL, and migration 0006's country backfill."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.migrate import alembic_config, upgrade_to_head
from otpservice.db.models import Message, MessageEvent, Verification
from otpservice.db.reports import ReportStore

NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
async def reports(database_url: str) -> AsyncIterator[ReportStore]:
    await asyncio.to_thread(upgrade_to_head, database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        session.add_all(_rows())
    try:
        yield ReportStore(sessions)
    finally:
        await engine.dispose()


def _verification(index: int, to: str, country: str | None, status: str, age: timedelta) -> Verification:
    at = NOW - age
    return Verification(
        id=f"VE{index:032x}",
        to=to,
        country=country,
        channel="sms",
        status=status,
        code_salt="salt",
        key_id="key",
        code_length=6,
        locale="en",
        send_attempts=1,
        check_attempts=0,
        max_check_attempts=5,
        created_at=at,
        updated_at=at,
        expires_at=at + timedelta(minutes=10),
    )


def _message(
    index: int, provider: str, status: str, age: timedelta, verification: int | None = None, to: str = "+447400123400"
) -> Message:
    at = NOW - age
    return Message(
        id=f"SM{index:032x}",
        provider=provider,
        kind="otp" if verification else "sms",
        receiver=to,
        segments=1,
        status=status,
        attempts=1,
        created_at=at,
        updated_at=at,
        next_attempt_at=at if status == "queued" else None,
        verification_id=f"VE{verification:032x}" if verification else None,
    )


def _rows() -> list[object]:
    minute, day = timedelta(minutes=1), timedelta(days=1)
    return [
        _verification(1, "+447400123401", "GB", "approved", minute),
        _verification(2, "+447400123402", "GB", "expired", minute),
        _verification(3, "+447400123403", "GB", "failed", minute),
        _verification(4, "+12015550004", "US", "pending", minute),
        _verification(5, "+15005550006", None, "approved", minute),  # a test number: no SMS
        _verification(6, "+447400123406", "GB", "approved", 2 * day),  # outside 24 h
        _message(1, "twilio", "delivered", minute, 1),
        _message(2, "twilio", "undelivered", minute, 2),
        _message(3, "twilio", "failed", minute, 3),
        _message(4, "vonage", "queued", minute, 4),
        _message(5, "vonage", "sent", minute),
        _message(6, "twilio", "sent", 2 * day, 6),
        MessageEvent(message_id=f"SM{1:032x}", status="sent", provider="twilio", created_at=NOW - minute),
        MessageEvent(message_id=f"SM{1:032x}", status="delivered", provider="twilio", created_at=NOW),
    ]


async def test_countries_count_started_sent_approved(reports: ReportStore) -> None:
    rows = {row.country: row for row in await reports.countries(NOW - timedelta(days=1))}
    assert set(rows) == {"GB", "US", None}
    gb = rows["GB"]
    assert (gb.started, gb.sent, gb.approved) == (3, 2, 1)  # the failed one was never accepted
    assert gb.conversion == pytest.approx(1 / 3)
    assert (rows["US"].started, rows["US"].sent, rows["US"].approved) == (1, 0, 0)  # still queued
    assert (rows[None].started, rows[None].sent, rows[None].approved) == (1, 0, 1)
    week = {row.country: row for row in await reports.countries(NOW - timedelta(days=7))}
    assert week["GB"].started == 4


async def test_providers_and_backlog(reports: ReportStore) -> None:
    providers = {row.provider: row.counts for row in await reports.providers(NOW - timedelta(days=1))}
    assert providers == {"twilio": {"delivered": 1, "undelivered": 1, "failed": 1}, "vonage": {"queued": 1, "sent": 1}}
    backlog = await reports.backlog()
    assert (backlog.queued, backlog.sending) == (1, 0) and backlog.oldest_due is not None


async def test_history_search_and_message_lookup(reports: ReportStore) -> None:
    history = await reports.verification(f"VE{1:032x}")
    assert history is not None and [m.id for m in history.messages] == [f"SM{1:032x}"]
    assert [event.status for event in history.events[f"SM{1:032x}"]] == ["sent", "delivered"]
    assert await reports.verification(f"VE{99:032x}") is None
    verifications, messages = await reports.by_number("+447400123401")
    assert [v.id for v in verifications] == [f"VE{1:032x}"] and messages == []
    _, to_default = await reports.by_number("+447400123400")
    assert len(to_default) == 6
    found = await reports.message(f"SM{2:032x}")
    assert found is not None and found[0].status == "undelivered"


async def test_migration_0006_fills_the_country_of_existing_verifications(database_url: str) -> None:
    config = alembic_config(database_url)
    await asyncio.to_thread(command.upgrade, config, "0002")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            for index, number in enumerate(("+447400123401", "+4915123456700", "+80012345678")):
                await connection.execute(
                    text(
                        'INSERT INTO verifications (id, "to", channel, status, code_salt, key_id, code_length, locale, '
                        "send_attempts, check_attempts, max_check_attempts, created_at, updated_at, expires_at) VALUES "
                        "(:id, :to, 'sms', 'approved', 's', 'k', 6, 'en', 1, 0, 5, :at, :at, :at)"
                    ),
                    {"id": f"VE{index:032x}", "to": number, "at": NOW.replace(tzinfo=None)},
                )
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as connection:
            rows = dict((await connection.execute(text('SELECT "to", country FROM verifications'))).all())
    finally:
        await engine.dispose()
    assert rows == {"+447400123401": "GB", "+4915123456700": "DE", "+80012345678": None}
