"""The overview's figures for a period, cached a little: the console lags the API by at most 5 s."""

import asyncio
from dataclasses import dataclass

from otpservice.clock import Clock, to_datetime
from otpservice.db.reports import Backlog, CountryRow, ProviderRow, ReportStore

PERIODS: dict[str, int] = {"1h": 3600, "24h": 86400, "7d": 7 * 86400}
DEFAULT_PERIOD = "24h"
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class Figures:
    period: str
    countries: list[CountryRow]
    providers: list[ProviderRow]
    backlog: Backlog
    at: float

    @property
    def totals(self) -> CountryRow:
        return CountryRow(None, sum(r.started for r in self.countries), sum(r.sent for r in self.countries),
                          sum(r.approved for r in self.countries))


class Overview:
    def __init__(self, reports: ReportStore, clock: Clock, cache_seconds: float = CACHE_SECONDS) -> None:
        self._reports, self._clock, self._cache_seconds = reports, clock, cache_seconds
        self._cache: dict[str, Figures] = {}
        self._lock = asyncio.Lock()

    async def figures(self, period: str) -> Figures:
        """`period` is one of PERIODS (the caller validates it)."""
        async with self._lock:  # concurrent page loads share one computation
            cached = self._cache.get(period)
            now = self._clock.now()
            if cached is not None and 0 <= now - cached.at < self._cache_seconds:
                return cached
            since = to_datetime(now - PERIODS[period])
            figures = Figures(period, await self._reports.countries(since), await self._reports.providers(since),
                              await self._reports.backlog(), now)
            self._cache[period] = figures
            return figures
