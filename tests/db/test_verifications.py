"""The verification store on SQLite and PostgreSQL: every state change is one conditional UPDATE."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.migrate import upgrade_to_head
from otpservice.db.models import Verification
from otpservice.db.verifications import CheckOutcome, VerificationStore

NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[VerificationStore]:
    await asyncio.to_thread(upgrade_to_head, database_url)
    engine = make_engine(database_url)
    try:
        yield VerificationStore(make_sessionmaker(engine))
    finally:
        await engine.dispose()


def pending(number: str = "+393331234567", *, index: int = 1, max_check_attempts: int = 3) -> Verification:
    return Verification(
        id=f"VE{index:032x}",
        to=number,
        channel="sms",
        status="pending",
        code_salt="salt",
        key_id="key",
        code_length=6,
        locale="en",
        send_attempts=1,
        check_attempts=0,
        max_check_attempts=max_check_attempts,
        created_at=NOW,
        updated_at=NOW,
        expires_at=LATER,
    )


async def test_one_pending_verification_per_number(store: VerificationStore) -> None:
    assert await store.add_pending(pending(index=1))
    assert not await store.add_pending(pending(index=2))
    assert await store.add_pending(pending("+393337654321", index=3))
    assert await store.cancel(f"VE{1:032x}", NOW) is not None
    assert await store.add_pending(pending(index=2))
    found = await store.open_for("+393331234567")
    assert found is not None and found.id == f"VE{2:032x}"


async def test_send_slots_stop_at_the_maximum_and_at_expiry(store: VerificationStore) -> None:
    await store.add_pending(pending())
    verification_id = f"VE{1:032x}"
    taken = await store.take_send_slot(verification_id, 2, NOW)
    assert taken is not None and taken.send_attempts == 2
    assert await store.take_send_slot(verification_id, 2, NOW) is None
    await store.give_back_send_slot(verification_id, NOW)
    assert await store.take_send_slot(verification_id, 2, LATER) is None  # expired
    assert await store.take_send_slot(verification_id, 2, NOW) is not None


async def test_an_unsent_new_verification_is_discarded(store: VerificationStore) -> None:
    await store.add_pending(pending())
    verification_id = f"VE{1:032x}"
    await store.give_back_send_slot(verification_id, NOW)
    await store.discard_unsent(verification_id)
    assert await store.get(verification_id) is None


async def test_check_outcomes(store: VerificationStore) -> None:
    await store.add_pending(pending(max_check_attempts=2))
    wrong = await store.check(NOW, lambda _: False, to="+393331234567")
    assert wrong.outcome is CheckOutcome.WRONG_CODE and wrong.verification is not None
    assert (wrong.verification.status, wrong.verification.check_attempts) == ("pending", 1)
    last = await store.check(NOW, lambda _: False, verification_id=f"VE{1:032x}")
    assert last.verification is not None and last.verification.status == "max_attempts_reached"
    spent = await store.check(NOW, lambda _: True, to="+393331234567")
    assert spent.outcome is CheckOutcome.NO_ATTEMPTS_LEFT
    assert (await store.check(LATER, lambda _: True, to="+393331234567")).outcome is CheckOutcome.NOT_FOUND


async def test_approval_is_once(store: VerificationStore) -> None:
    await store.add_pending(pending())
    approved = await store.check(NOW, lambda _: True, to="+393331234567")
    assert approved.outcome is CheckOutcome.APPROVED and approved.verification is not None
    assert (approved.verification.status, approved.verification.approved_at) == ("approved", NOW)
    assert (await store.check(NOW, lambda _: True, to="+393331234567")).outcome is CheckOutcome.NOT_FOUND


async def test_concurrent_checks_approve_once(store: VerificationStore) -> None:
    await store.add_pending(pending(max_check_attempts=100))
    results = await asyncio.gather(*(store.check(NOW, lambda _: True, to="+393331234567") for _ in range(30)))
    assert Counter(result.outcome for result in results) == {CheckOutcome.APPROVED: 1, CheckOutcome.NOT_FOUND: 29}


async def test_expiry(store: VerificationStore) -> None:
    await store.add_pending(pending())
    verification_id = f"VE{1:032x}"
    assert not await store.expire(verification_id, NOW)
    assert (await store.check(LATER, lambda _: True, to="+393331234567")).outcome is CheckOutcome.EXPIRED
    assert await store.cancel(verification_id, LATER) is None
    assert await store.expire(verification_id, LATER)
    found = await store.get(verification_id)
    assert found is not None and found.status == "expired"


async def test_purge_of_finished_verifications(store: VerificationStore) -> None:
    for index in (1, 2, 3):
        await store.add_pending(pending(f"+39333123456{index}", index=index))
    await store.cancel(f"VE{1:032x}", NOW)
    assert await store.expire_all_due(LATER) == 2
    assert await store.purge_finished_before(NOW) == 0
    assert await store.purge_finished_before(NOW + timedelta(seconds=1)) == 3
