"""The overview's figures for a period, cached a little: the console lags the API by at most 5 s.

A long period is mostly hours whose figures can no longer change: a verification is approved
before it expires and its first SMS is accepted within the outbox's retries, so the hour's
per-country counts are final once OTP_TTL and an hour have passed. Those hours are read once
and kept (in this process); each render then queries only the recent hours and the partial
hour at the period's start. Message outcomes are kept once a day old (a delivery receipt
later than that is not counted until the process restarts).
"""

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from otpservice.clock import Clock, to_datetime
from otpservice.db.reports import Backlog, CountryRow, ProviderRow, ReportStore

PERIODS: dict[str, int] = {"1h": 3600, "24h": 86400, "7d": 7 * 86400}
DEFAULT_PERIOD = "24h"
CACHE_SECONDS = 2.0
HOUR = 3600
MESSAGES_FINAL_AFTER = 86400
Row = TypeVar("Row", CountryRow, ProviderRow)


@dataclass(frozen=True)
class Figures:
    period: str
    countries: list[CountryRow]
    providers: list[ProviderRow]
    backlog: Backlog
    at: float

    @property
    def totals(self) -> CountryRow:
        return CountryRow(
            None,
            sum(r.started for r in self.countries),
            sum(r.sent for r in self.countries),
            sum(r.approved for r in self.countries),
        )


class FinalHours(Generic[Row]):
    """Figures of whole hours that are final, each read once; a period = head + final hours + live tail."""

    def __init__(
        self,
        read: Callable[[datetime, datetime | None], Awaitable[list[Row]]],
        merge: Callable[[Iterable[Row]], list[Row]],
        final_after: float,
    ) -> None:
        self._read: Callable[[datetime, datetime | None], Awaitable[list[Row]]] = read
        self._merge: Callable[[Iterable[Row]], list[Row]] = merge
        self._final_after = final_after
        self._hours: dict[int, list[Row]] = {}

    async def over(self, since: float, now: float) -> list[Row]:
        first: int = math.ceil(since / HOUR) * HOUR
        horizon: int = math.floor((now - self._final_after) / HOUR) * HOUR
        if first >= horizon:
            return await self._read(to_datetime(since), None)
        rows: list[Row] = list(await self._read(to_datetime(since), to_datetime(first)))
        rows.extend(await self._read(to_datetime(horizon), None))
        for hour in range(first, horizon, HOUR):
            if hour not in self._hours:
                self._hours[hour] = await self._read(to_datetime(hour), to_datetime(hour + HOUR))
            rows.extend(self._hours[hour])
        for hour in [hour for hour in self._hours if hour < now - max(PERIODS.values()) - HOUR]:
            del self._hours[hour]
        return self._merge(rows)


def merge_countries(rows: Iterable[CountryRow]) -> list[CountryRow]:
    totals: dict[str | None, tuple[int, int, int]] = {}
    for row in rows:
        started, sent, approved = totals.get(row.country, (0, 0, 0))
        totals[row.country] = (started + row.started, sent + row.sent, approved + row.approved)
    merged = [CountryRow(country, *counts) for country, counts in totals.items()]
    return sorted(merged, key=lambda row: (-row.started, row.country or ""))


def merge_providers(rows: Iterable[ProviderRow]) -> list[ProviderRow]:
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = totals.setdefault(row.provider, {})
        for status, count in row.counts.items():
            counts[status] = counts.get(status, 0) + count
    return [ProviderRow(name, counts) for name, counts in sorted(totals.items())]


class Overview:
    def __init__(
        self, reports: ReportStore, clock: Clock, *, otp_ttl: float, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self._reports, self._clock, self._cache_seconds = reports, clock, cache_seconds
        self._countries = FinalHours(reports.countries, merge_countries, final_after=otp_ttl + HOUR)
        self._providers = FinalHours(reports.providers, merge_providers, final_after=MESSAGES_FINAL_AFTER)
        self._cache: dict[str, Figures] = {}
        self._lock = asyncio.Lock()

    async def figures(self, period: str) -> Figures:
        """`period` is one of PERIODS (the caller validates it)."""
        async with self._lock:  # concurrent page loads share one computation
            cached = self._cache.get(period)
            now = self._clock.now()
            if cached is not None and 0 <= now - cached.at < self._cache_seconds:
                return cached
            since = now - PERIODS[period]
            figures = Figures(
                period,
                await self._countries.over(since, now),
                await self._providers.over(since, now),
                await self._reports.backlog(),
                now,
            )
            self._cache[period] = figures
            return figures

    async def warm(self) -> None:
        """Read the longest period's final hours (kept for every later render); no figure is
        cached, so that the first page still shows traffic made after the warm-up."""
        async with self._lock:
            now = self._clock.now()
            since = now - max(PERIODS.values())
            await self._countries.over(since, now)
            await self._providers.over(since, now)
