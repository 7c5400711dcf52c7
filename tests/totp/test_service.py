"""TotpService over the real store (SQLite and PostgreSQL) on an injected clock: enrolment,
the step and replay rules, the lockout window, recovery codes, key rotation, challenges."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from otpservice.clock import FakeClock
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.migrate import upgrade_to_head
from otpservice.db.totp import TotpStore
from otpservice.delivery.crypto import TOTP_SECRET, BodyCipher
from otpservice.errors import EntityNotFound, FactorNotVerified, MaxAttemptsReached
from otpservice.totp.challenges import ChallengeService
from otpservice.totp.codes import TotpConfig, code_at
from otpservice.totp.service import TotpRules, TotpService

KEY, OLD_KEY = "current-key-0123456789abcdef-0123", "previous-key-0123456789abcdef-012"


@dataclass
class Rig:
    totp: TotpService
    challenges: ChallengeService
    store: TotpStore
    clock: FakeClock
    url: str

    def code(self, secret: str, offset: float = 0.0) -> str:
        return code_at(secret, TotpConfig(), self.clock.now() + offset)

    def with_keys(self, *keys: str) -> TotpService:
        return TotpService(self.store, BodyCipher(list(keys), purpose=TOTP_SECRET), self.clock, TotpRules())


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


@pytest.fixture
async def rig(database_url: str) -> AsyncIterator[Rig]:
    await asyncio.to_thread(upgrade_to_head, database_url)
    engine = make_engine(database_url)
    store = TotpStore(make_sessionmaker(engine))
    clock = FakeClock(1_800_000_010.0)
    totp = TotpService(store, BodyCipher([KEY], purpose=TOTP_SECRET), clock, TotpRules(skew=1, issuer="Acme"))
    yield Rig(totp, ChallengeService(totp, store, clock), store, clock, database_url)
    await engine.dispose()


async def verified(rig: Rig, identity: str = "user-1") -> tuple[str, str]:
    enrolment = await rig.totp.enrol(identity)
    factor = await rig.totp.verify(enrolment.factor.sid, rig.code(enrolment.secret))
    assert factor.status == "verified"
    rig.clock.advance(30)  # the next step: the enrolment code is spent
    return factor.sid, enrolment.secret


async def test_enrolment_gives_the_secret_once_and_a_wrong_code_leaves_the_factor_unverified(rig: Rig) -> None:
    enrolment = await rig.totp.enrol("user-1", label="alice")
    assert enrolment.factor.status == "unverified" and enrolment.factor.identity == "user-1"
    assert enrolment.uri.startswith("otpauth://totp/Acme:alice?secret=" + enrolment.secret)
    assert enrolment.qr_svg.startswith("<svg") and "xmlns" in enrolment.qr_svg
    assert enrolment.secret.encode() not in enrolment.factor.secret_ciphertext
    assert (await rig.totp.verify(enrolment.factor.sid, wrong(rig.code(enrolment.secret)))).status == "unverified"
    with pytest.raises(EntityNotFound):  # no verified factor yet: nothing to check against
        await rig.totp.check("user-1", rig.code(enrolment.secret))
    assert (await rig.totp.verify(enrolment.factor.sid, rig.code(enrolment.secret))).status == "verified"


async def test_a_code_is_accepted_once_per_step_and_skew_lets_the_last_step_in(rig: Rig) -> None:
    sid, secret = await verified(rig)
    code = rig.code(secret)
    assert (await rig.totp.check("user-1", code)).approved
    assert not (await rig.totp.check("user-1", code)).approved  # a replay in the same step
    rig.clock.advance(30)
    previous = rig.code(secret, -30)
    assert previous == code
    assert not (await rig.totp.check("user-1", previous)).approved  # still a replay one step later
    result = await rig.totp.check("user-1", rig.code(secret))
    assert result.approved and result.factor_sid == sid
    rig.clock.advance(30)
    late = rig.code(secret, -30)  # the step just approved: inside the skew, but spent
    assert not (await rig.totp.check("user-1", late)).approved
    # A code two steps old is outside the window even when unused.
    rig.clock.advance(90)
    assert not (await rig.totp.check("user-1", rig.code(secret, -60))).approved


async def test_an_older_unused_step_is_refused_after_a_newer_one(rig: Rig) -> None:
    _, secret = await verified(rig)
    ahead = rig.code(secret, +30)  # the app's clock runs a step ahead
    behind = rig.code(secret)
    assert (await rig.totp.check("user-1", ahead)).approved
    assert not (await rig.totp.check("user-1", behind)).approved  # an older step after a newer one


async def test_five_wrong_codes_lock_the_factor_until_the_window_ends(rig: Rig) -> None:
    _, secret = await verified(rig)
    for _ in range(5):
        rig.clock.advance(10)
        assert not (await rig.totp.check("user-1", wrong(rig.code(secret)))).approved
    rig.clock.advance(10)
    with pytest.raises(MaxAttemptsReached) as locked:
        await rig.totp.check("user-1", rig.code(secret))  # even the right code, while locked
    assert locked.value.retry_after == pytest.approx(15 * 60 - 50)
    with pytest.raises(MaxAttemptsReached):
        await rig.totp.check("user-1", wrong(rig.code(secret)))
    rig.clock.advance(15 * 60 - 50)  # the window (from the first wrong code) ends
    assert (await rig.totp.check("user-1", rig.code(secret))).approved


async def test_wrong_codes_spread_over_more_than_the_window_do_not_lock(rig: Rig) -> None:
    _, secret = await verified(rig)
    for _ in range(4):
        assert not (await rig.totp.check("user-1", wrong(rig.code(secret)))).approved
    rig.clock.advance(15 * 60)
    for _ in range(4):
        assert not (await rig.totp.check("user-1", wrong(rig.code(secret)))).approved
    assert (await rig.totp.check("user-1", rig.code(secret))).approved


async def test_concurrent_wrong_codes_are_counted_exactly(rig: Rig) -> None:
    _, secret = await verified(rig)
    bad = wrong(rig.code(secret))
    outcomes = await asyncio.gather(*(rig.totp.check("user-1", bad) for _ in range(20)), return_exceptions=True)
    denied = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, MaxAttemptsReached)]
    assert (len(denied), len(refused)) == (5, 15)


async def test_concurrent_right_codes_are_approved_once(rig: Rig) -> None:
    _, secret = await verified(rig)
    code = rig.code(secret)
    outcomes = await asyncio.gather(*(rig.totp.check("user-1", code) for _ in range(20)))
    assert sum(outcome.approved for outcome in outcomes) == 1


async def test_recovery_codes_are_single_use_and_replaced_by_new_ones(rig: Rig) -> None:
    with pytest.raises(EntityNotFound):
        await rig.totp.new_recovery_codes("user-1")
    await verified(rig)
    first = await rig.totp.new_recovery_codes("user-1")
    assert len(first) == 10 and len(set(first)) == 10
    result = await rig.totp.check("user-1", first[0].upper())  # case and dash do not matter
    assert result.approved and result.recovery_code and result.factor_sid is None
    assert not (await rig.totp.check("user-1", first[0])).approved
    assert await rig.totp.recovery_codes_left("user-1") == 9
    second = await rig.totp.new_recovery_codes("user-1")
    assert not (await rig.totp.check("user-1", first[1])).approved  # the old set is gone
    assert (await rig.totp.check("user-1", second[1].replace("-", ""))).approved


async def test_a_factor_sealed_with_a_previous_key_works_and_is_resealed(rig: Rig) -> None:
    old = rig.with_keys(OLD_KEY)
    enrolment = await old.enrol("user-1")
    rotated = rig.with_keys(KEY, OLD_KEY)
    assert (await rotated.verify(enrolment.factor.sid, rig.code(enrolment.secret))).status == "verified"
    rig.clock.advance(30)
    current_only = rig.with_keys(KEY)  # the previous key removed: the secret was sealed again
    assert (await current_only.check("user-1", rig.code(enrolment.secret))).approved
    rig.clock.advance(30)
    assert not (await old.check("user-1", rig.code(enrolment.secret))).approved  # the old key alone: no longer


async def test_a_challenge_is_approved_by_a_right_code_and_stays_pending_on_a_wrong_one(rig: Rig) -> None:
    unverified = await rig.totp.enrol("user-2")
    with pytest.raises(FactorNotVerified):
        await rig.challenges.create("user-2", unverified.factor.sid, None)
    sid, secret = await verified(rig)
    pending = await rig.challenges.create("user-1", sid, wrong(rig.code(secret)))
    assert pending.status == "pending"
    approved = await rig.challenges.respond("user-1", pending.sid, rig.code(secret))
    assert (approved.status, approved.responded_reason) == ("approved", "none")
    later = await rig.challenges.create("user-1", sid, None)
    rig.clock.advance(5 * 60)
    assert (await rig.challenges.get("user-1", later.sid)).status == "expired"
