"""The outbox on a real database (SQLite and PostgreSQL): queueing, retries, failover, claims."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from otpservice.clock import FakeClock, to_datetime
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.messages import MessageStore
from otpservice.db.migrate import upgrade_to_head
from otpservice.db.verifications import VerificationStore
from otpservice.delivery.chain import ProviderChain
from otpservice.delivery.crypto import BodyCipher
from otpservice.delivery.deliverer import Deliverer
from otpservice.delivery.dispatch import Dispatcher
from otpservice.delivery.policy import RetryPolicy
from otpservice.delivery.worker import OutboxWorker
from otpservice.errors import ProviderError, ProviderRejected, ProviderUnavailable
from otpservice.providers.base import OutgoingSms, SendReceipt

NUMBER = "+393331234567"


@dataclass
class ScriptedProvider:
    """Unit-test double: fails with the scripted errors first, then accepts."""

    name: str
    failures: list[ProviderError] = field(default_factory=list)
    sent: list[OutgoingSms] = field(default_factory=list)

    async def send(self, sms: OutgoingSms) -> SendReceipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(sms)
        return SendReceipt(sid=f"{self.name}-{len(self.sent)}", provider_status="queued", segments=None)

    async def balance(self) -> Decimal | None:
        return None


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[MessageStore]:
    await asyncio.to_thread(upgrade_to_head, database_url)
    engine = make_engine(database_url)
    yield MessageStore(make_sessionmaker(engine))
    await engine.dispose()


def outbox(
    store: MessageStore, clock: FakeClock, *providers: ScriptedProvider, max_attempts: int = 3
) -> tuple[Dispatcher, OutboxWorker]:
    chain = ProviderChain(list(providers))
    cipher = BodyCipher(["k"])
    policy = RetryPolicy(
        chain.names, lease_seconds=60, max_attempts=max_attempts, first_retry_seconds=2, max_wait_seconds=10
    )
    deliverer = Deliverer(chain, store, VerificationStore(store._sessions), policy, clock)
    dispatcher = Dispatcher(deliverer, store, clock, queue_enabled=True, throttle=None, cipher=cipher)
    worker = OutboxWorker(store, deliverer, cipher, None, clock)
    return dispatcher, worker


async def test_retryable_failure_is_queued_then_sent_once(store: MessageStore, clock: FakeClock) -> None:
    provider = ScriptedProvider("twilio", failures=[ProviderUnavailable()])
    dispatcher, worker = outbox(store, clock, provider)
    result = await dispatcher.dispatch(OutgoingSms(NUMBER, "code 123456", "ACME"), kind="otp", verification_id=None)
    assert result.status == "queued" and result.sid == result.message_id
    queued = await store.get(result.message_id)
    assert queued is not None and queued.body_ciphertext and b"123456" not in queued.body_ciphertext
    assert await worker.drain_once() == 0  # not due yet
    clock.advance(2)
    assert await worker.drain_once() == 1
    assert await worker.drain_once() == 0
    assert [sms.body for sms in provider.sent] == ["code 123456"]
    sent = await store.get(result.message_id)
    assert sent is not None and sent.status == "sent" and sent.body_ciphertext is None
    assert [event.status for event in await store.history(sent.id)] == ["queued", "sent"]


async def test_gives_up_after_bounded_attempts(store: MessageStore, clock: FakeClock) -> None:
    provider = ScriptedProvider("twilio", failures=[ProviderUnavailable() for _ in range(10)])
    dispatcher, worker = outbox(store, clock, provider, max_attempts=3)
    result = await dispatcher.dispatch(OutgoingSms(NUMBER, "hi", "ACME"), kind="sms", verification_id=None)
    for _ in range(5):
        clock.advance(60)
        await worker.drain_once()
    failed = await store.get(result.message_id)
    assert failed is not None
    assert (failed.status, failed.attempts, failed.error_code) == ("failed", 3, "provider_error")
    assert failed.body_ciphertext is None
    assert len(provider.failures) == 10 - 3


async def test_fallback_takes_the_message(store: MessageStore, clock: FakeClock) -> None:
    primary = ScriptedProvider("twilio", failures=[ProviderUnavailable()])
    fallback = ScriptedProvider("vonage")
    dispatcher, _ = outbox(store, clock, primary, fallback)
    result = await dispatcher.dispatch(OutgoingSms(NUMBER, "hi", "ACME"), kind="sms", verification_id=None)
    assert result.status == "sent" and result.sid == "vonage-1"
    record = await store.get(result.sid)
    assert record is not None and record.provider == "vonage"


async def test_non_retryable_error_is_not_queued(store: MessageStore, clock: FakeClock) -> None:
    provider = ScriptedProvider("twilio", failures=[ProviderRejected("nope")])
    dispatcher, worker = outbox(store, clock, provider)
    with pytest.raises(ProviderRejected):
        await dispatcher.dispatch(OutgoingSms(NUMBER, "hi", "ACME"), kind="sms", verification_id=None)
    clock.advance(60)
    assert await worker.drain_once() == 0


async def test_a_claim_is_exclusive(store: MessageStore, clock: FakeClock) -> None:
    provider = ScriptedProvider("twilio", failures=[ProviderUnavailable()])
    dispatcher, _ = outbox(store, clock, provider)
    result = await dispatcher.dispatch(OutgoingSms(NUMBER, "hi", "ACME"), kind="sms", verification_id=None)
    clock.advance(5)
    now, lease = to_datetime(clock.now()), to_datetime(clock.now() + 60)
    claims = await asyncio.gather(*(store.claim(result.message_id, now, lease) for _ in range(10)))
    assert sum(claim is not None for claim in claims) == 1


async def test_expired_lease_is_sent_again_after_a_crash(store: MessageStore, clock: FakeClock) -> None:
    provider = ScriptedProvider("twilio", failures=[ProviderUnavailable()])
    dispatcher, worker = outbox(store, clock, provider)
    result = await dispatcher.dispatch(OutgoingSms(NUMBER, "hi", "ACME"), kind="sms", verification_id=None)
    clock.advance(5)
    # A process claimed it and died during the provider call.
    assert await store.claim(result.message_id, to_datetime(clock.now()), to_datetime(clock.now() + 60))
    assert await worker.drain_once() == 0
    clock.advance(61)
    assert await worker.drain_once() == 1
    assert len(provider.sent) == 1


async def test_a_send_interrupted_mid_call_is_recorded_and_retried(store: MessageStore, clock: FakeClock) -> None:
    """The row exists before the provider call: a process dying in the call loses no record,
    and the message goes out again once its lease ends (the one case that may go twice)."""
    provider = ScriptedProvider("twilio")
    dispatcher, worker = outbox(store, clock, provider)

    class Died(BaseException):
        pass

    async def die(sms: OutgoingSms) -> SendReceipt:
        raise Died()

    provider.send = die  # type: ignore[method-assign]
    with pytest.raises(Died):
        await dispatcher.dispatch(OutgoingSms(NUMBER, "code 654321", "ACME"), kind="otp", verification_id=None)
    del provider.send
    [message_id] = await _all_ids(store)
    interrupted = await store.get(message_id)
    assert interrupted is not None and interrupted.status == "sending"
    assert interrupted.body_ciphertext and b"654321" not in interrupted.body_ciphertext
    assert await worker.drain_once() == 0
    clock.advance(61)
    assert await worker.drain_once() == 1
    assert [sms.body for sms in provider.sent] == ["code 654321"]
    # Its outcome was unknown: the history says so, and the retry went to the same provider.
    assert [event.status for event in await store.history(message_id)] == ["ambiguous", "queued", "sent"]


async def _all_ids(store: MessageStore) -> list[str]:
    from sqlalchemy import select

    from otpservice.db.models import Message

    async with store._sessions() as session:
        return list((await session.execute(select(Message.id))).scalars())


async def test_queue_off_an_interrupted_send_is_failed_never_resent_and_purged(
    store: MessageStore, clock: FakeClock, database_url: str
) -> None:
    """With the queue off, a row left `sending` by a crash becomes `failed` once its lease has
    run (the worker's recovery, or `otpservice purge`), is never sent again, and purge removes it."""
    from otpservice.verify.purge import purge
    from tests.conftest import make_settings

    provider = ScriptedProvider("twilio")
    chain = ProviderChain([provider])
    cipher = BodyCipher(["k"])
    policy = RetryPolicy(chain.names, lease_seconds=20, queue_enabled=False)
    deliverer = Deliverer(chain, store, VerificationStore(store._sessions), policy, clock)
    dispatcher = Dispatcher(deliverer, store, clock, queue_enabled=False, throttle=None, cipher=cipher)
    worker = OutboxWorker(store, deliverer, cipher, None, clock, queue_enabled=False)

    class Died(BaseException):
        pass

    async def die(sms: OutgoingSms) -> SendReceipt:
        raise Died()

    provider.send = die  # type: ignore[method-assign]
    with pytest.raises(Died):
        await dispatcher.dispatch(OutgoingSms(NUMBER, "code 654321", "ACME"), kind="otp", verification_id=None)
    [first] = await _all_ids(store)
    clock.advance(21)
    await worker.drain_once()
    recovered = await store.get(first)
    assert recovered is not None and (recovered.status, recovered.body_ciphertext) == ("failed", None)
    assert [event.status for event in await store.history(first)] == ["ambiguous", "failed"]
    # A second crash, and no process runs after it: purge itself ends it, then removes it once old.
    with pytest.raises(Died):
        await dispatcher.dispatch(OutgoingSms(NUMBER, "code 111111", "ACME"), kind="otp", verification_id=None)
    del provider.send
    second = next(message_id for message_id in await _all_ids(store) if message_id != first)
    assert provider.sent == []
    clock.advance(31 * 86_400)
    settings = make_settings(database_url, sms_queue_enabled=False)
    assert (await purge(settings, clock))["messages"] == 2
    assert await store.get(second) is None
