"""Where limit counters live: process memory (one box) or Redis (replicas).

`RATE_LIMIT_STORAGE_URL` is `memory://` or `redis://host:port/db`; the send budget has
its own store (budget_store.py), the provider throttle uses the `limits` library's storage
on the same backend. Every Redis call is bounded, so an outage fails fast and closed.
"""

from dataclasses import dataclass

from limits.aio.storage import RedisStorage, Storage
from redis.asyncio import Redis

from otpservice.limits.budget_store import (
    STORAGE_TIMEOUT_SECONDS,
    BudgetStore,
    MemoryBudgetStore,
    RedisBudgetStore,
    StorageUnavailable,
)
from otpservice.limits.memory import WindowMemoryStorage


@dataclass
class LimitStorage:
    windows: Storage
    budget: BudgetStore
    redis: Redis | None = None

    @property
    def name(self) -> str:
        return "redis" if self.redis is not None else "memory"

    async def ping(self) -> bool:
        try:
            return await self.budget.ping()
        except StorageUnavailable:
            return False

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def open_limit_storage(url: str, key_prefix: str = "otpservice") -> LimitStorage:
    if url.startswith("memory://"):
        return LimitStorage(windows=WindowMemoryStorage(), budget=MemoryBudgetStore())
    if url.startswith(("redis://", "rediss://")):
        timeout = STORAGE_TIMEOUT_SECONDS
        client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return LimitStorage(
            windows=RedisStorage(
                url,
                implementation="redispy",
                key_prefix=key_prefix,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            ),
            budget=RedisBudgetStore(client),
            redis=client,
        )
    raise ValueError(f"RATE_LIMIT_STORAGE_URL: unsupported scheme in {url.split('://')[0]!r}")
