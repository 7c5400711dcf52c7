"""Group commit: the hot path's short write transactions, taken together.

Under load many requests each want one small transaction (a message row before its provider
call, an attempt's outcome after it). Each transaction pays a connection checkout, BEGIN,
COMMIT and, on SQLite, its turn on the single writer; here the writes that arrive while one
transaction is in flight wait for it and then share the next one. A caller returns only once
its write is committed. When a shared transaction fails, each of its writes is run again
alone, so that every caller gets its own result or its own error (the works must therefore
only touch the database); when the database itself is not there, every waiting caller gets
that error at once rather than one DB_TIMEOUT after another.
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from otpservice.db.engine import begin_core, connect_core
from otpservice.db.outage import is_outage

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
Work = Callable[[AsyncConnection], Awaitable[Any]]
# Bounded so that one transaction holds its locks briefly.
MAX_BATCH = 64
POSTGRES_LANES = 4
READ_LANES = 4


class _Lanes:
    """At most `count` drain tasks at once, one started when work arrives and a lane is free."""

    def __init__(self, count: int, drain: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._count, self._drain = count, drain
        self._tasks: set[asyncio.Task[None]] = set()

    def kick(self) -> None:
        self._tasks = {task for task in self._tasks if not task.done()}
        if len(self._tasks) < self._count:
            self._tasks.add(asyncio.create_task(self._drain()))


class GroupCommit:
    """`lanes`: transactions in flight at once. SQLite has one writer anyway; on PostgreSQL
    a few lanes keep the statements of one batch from waiting on another's round trips."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], lanes: int = 1) -> None:
        self._sessions, self._lanes = sessions, _Lanes(lanes, self._drain)
        self._queue: list[tuple[Work, asyncio.Future[Any]]] = []

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        self._lanes.kick()
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._commit(batch)
            except BaseException as error:  # cancelled (shutdown): no caller waits forever
                for _, future in batch + self._queue:
                    if not future.done():
                        future.set_exception(error if isinstance(error, Exception) else RuntimeError("stopped"))
                self._queue = []
                raise

    async def _commit(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        try:
            async with begin_core(self._sessions) as connection:
                results = [await work(connection) for work, _ in batch]
        except Exception as error:
            if is_outage(error):  # the database is not there: no write waits for its own try
                waiting, self._queue = batch + self._queue, []
                for _, future in waiting:
                    _settle(future, error=error)
                return
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
                return
            for work, future in batch:  # each alone: its own outcome, its own error
                try:
                    async with begin_core(self._sessions) as connection:
                        result = await work(connection)
                except Exception as alone:
                    _settle(future, error=alone)
                else:
                    _settle(future, result=result)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


class GroupRead(Generic[K, V]):
    """Reads by key, taken together like the writes above: the keys asked for while one query
    is in flight go into the next one (`read_many`: one statement for all of them). A caller
    gets what a query begun after its call found, never an older answer."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        read_many: Callable[[AsyncConnection, list[K]], Awaitable[dict[K, V]]],
        lanes: int = READ_LANES,
    ) -> None:
        self._sessions, self._read_many, self._lanes = sessions, read_many, _Lanes(lanes, self._drain)
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        self._lanes.kick()
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            keys = list(self._waiting)[:MAX_BATCH]
            batch = {key: self._waiting.pop(key) for key in keys}
            try:
                async with connect_core(self._sessions) as connection:
                    found = await self._read_many(connection, keys)
            except BaseException as error:  # each caller gets the error; cancelled: the rest too
                failed = error if isinstance(error, Exception) else RuntimeError("stopped")
                for futures in batch.values():
                    for future in futures:
                        _settle(future, error=failed)
                if not isinstance(error, Exception) or is_outage(error):  # the rest would wait as long
                    for futures in self._waiting.values():
                        for future in futures:
                            _settle(future, error=failed)
                    self._waiting = {}
                    if not isinstance(error, Exception):
                        raise
                continue
            for key, futures in batch.items():
                for future in futures:
                    _settle(future, result=found.get(key))


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: Exception | None = None) -> None:
    if future.done():  # its caller was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_groups: "weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], GroupCommit]" = weakref.WeakKeyDictionary()


def group_commit(sessions: async_sessionmaker[AsyncSession]) -> GroupCommit:
    """The one group of a database (all stores over the same sessions share it)."""
    group = _groups.get(sessions)
    if group is None:
        sqlite = sessions.kw["bind"].dialect.name == "sqlite"
        group = _groups[sessions] = GroupCommit(sessions, lanes=1 if sqlite else POSTGRES_LANES)
    return group
