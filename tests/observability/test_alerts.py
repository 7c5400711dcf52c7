"""Alerts kept in the database until their receiver takes them: a process that stops hands
them over, one that crashes loses them only for its lease (real sockets, real databases)."""

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from otpservice.clock import FakeClock
from otpservice.db.alerts import AlertStore
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.models import PendingAlert
from otpservice.observability.alerts import LEASE_MARGIN_SECONDS, Alert, AlertSender
from tests.alert_receiver import Receiver, alert_receiver
from tests.process import free_port


@pytest.fixture
async def store(migrated_database_url: str) -> AsyncIterator[AlertStore]:
    engine = make_engine(migrated_database_url)
    try:
        yield AlertStore(make_sessionmaker(engine))
    finally:
        await engine.dispose()


async def rows(store: AlertStore) -> list[PendingAlert]:
    async with store._sessions() as session:
        return list((await session.execute(select(PendingAlert))).scalars())


async def until(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


def exhausted(clock: FakeClock) -> Alert:
    return Alert("budget_exhausted", "global", "*", 3, 3, "hour", clock.now())


async def running(sender: AlertSender) -> tuple[asyncio.Event, "asyncio.Task[None]"]:
    stop = asyncio.Event()
    return stop, asyncio.create_task(sender.run(stop))


async def received(receiver: Receiver, count: int) -> None:
    async def enough() -> bool:
        return len(receiver.alerts) >= count

    await until(enough)


async def test_a_crashed_process_alerts_are_taken_over_once_its_lease_ran_out(store: AlertStore) -> None:
    clock, port = FakeClock(), free_port()  # nothing listens on the port yet
    url = f"http://127.0.0.1:{port}/alerts"
    async with httpx.AsyncClient(timeout=2) as http:
        first = AlertSender(url, "alert-secret", http, clock, store)
        _, crashed = await running(first)
        first.emit(exhausted(clock))

        async def attempted() -> bool:
            return [row.attempts for row in await rows(store)] == [1]

        await until(attempted)  # kept, tried once, failed
        crashed.cancel()  # no hand-over: the process died
        with alert_receiver(port=port) as receiver:
            second = AlertSender(url, "alert-secret", http, clock, store)
            stop, task = await running(second)
            await asyncio.sleep(1.0)
            assert receiver.alerts == []  # the lease still says the first process holds it
            clock.advance(LEASE_MARGIN_SECONDS + 1)
            await received(receiver, 1)
            await asyncio.sleep(0.5)
            stop.set()
            await task
    assert receiver.events() == [("budget_exhausted", "global", "*")] and receiver.bad_signatures == 0
    assert await rows(store) == []  # delivered: forgotten


async def test_a_stopping_process_hands_its_alerts_over_at_once(store: AlertStore) -> None:
    clock, port = FakeClock(), free_port()
    url = f"http://127.0.0.1:{port}/alerts"
    async with httpx.AsyncClient(timeout=2) as http:
        first = AlertSender(url, "alert-secret", http, clock, store)
        stop, task = await running(first)
        first.emit(exhausted(clock))

        async def attempted() -> bool:
            return [row.attempts for row in await rows(store)] == [1]

        await until(attempted)
        stop.set()
        await task
        with alert_receiver(port=port) as receiver:
            second = AlertSender(url, "alert-secret", http, clock, store)
            stop, task = await running(second)
            clock.advance(2)  # its next try is 1 s after the failed one; the lease (60 s) is not waited out
            await received(receiver, 1)
            stop.set()
            await task
    assert len(receiver.alerts) == 1 and await rows(store) == []


async def test_two_live_processes_never_take_the_same_alert(store: AlertStore) -> None:
    clock = FakeClock()
    with alert_receiver() as receiver:
        async with httpx.AsyncClient(timeout=2) as http:
            senders = [AlertSender(receiver.url, "alert-secret", http, clock, store) for _ in range(2)]
            runs = [await running(sender) for sender in senders]
            for index in range(5):
                senders[index % 2].emit(exhausted(clock))
            await received(receiver, 5)
            clock.advance(LEASE_MARGIN_SECONDS + 1)  # any takeover would happen now
            await asyncio.sleep(1.0)
            for stop, task in runs:
                stop.set()
                await task
    assert len(receiver.alerts) == 5

    async def none_left() -> bool:
        async with store._sessions() as session:
            return (await session.execute(select(func.count()).select_from(PendingAlert))).scalar_one() == 0

    assert await none_left()
