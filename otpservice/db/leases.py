"""Rows claimed by a lease: a process takes a row by moving its `lease_until` forward, in a
conditional UPDATE that only one replica wins. Shared by the queues that must survive a
process (pending alerts, the webhooks POSTed to the app)."""

from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from otpservice.db.models import Base

Row = TypeVar("Row", bound=Base)


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    model: type[Row],
    ids: Select[Any],
    now: datetime,
    lease_until: datetime,
) -> list[Row]:
    """The rows among `ids` whose lease ran out by `now`, each now leased to this process until
    `lease_until`; a row another process took in between is left out."""
    id_column = cast(InstrumentedAttribute[str], getattr(model, "id"))  # noqa: B009
    lease_column = cast(InstrumentedAttribute[datetime], getattr(model, "lease_until"))  # noqa: B009
    async with sessions() as session:
        found = list((await session.execute(ids)).scalars())
    taken = []
    for row_id in found:
        async with sessions.begin() as session:
            moved = await session.execute(
                update(model).where(id_column == row_id, lease_column <= now).values(lease_until=lease_until)
            )
            if cast(CursorResult[Any], moved).rowcount == 1:
                row = await session.get(model, row_id)
                if row is not None:
                    taken.append(row)
    return taken
