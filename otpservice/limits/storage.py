"""Where limit counters live: process memory (one box) or Redis (replicas).

`RATE_LIMIT_STORAGE_URL` is `memory://` or `redis://host:port/db`; the window
limits use the `limits` library's storage, the per-number delay its own store
(see delay.py) on the same backend.
"""

from dataclasses import dataclass

from limits.aio.storage import RedisStorage, Storage
from redis.asyncio import Redis

from otpservice.limits.delay import DelayStore, MemoryDelayStore, RedisDelayStore
from otpservice.limits.memory import WindowMemoryStorage


@dataclass
class LimitStorage:
    windows: Storage
    delays: DelayStore
    redis: Redis | None = None

    async def ping(self) -> bool:
        if self.redis is None:
            return True
        return bool(await self.redis.ping())

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def open_limit_storage(url: str, key_prefix: str = "otpservice") -> LimitStorage:
    if url.startswith("memory://"):
        return LimitStorage(windows=WindowMemoryStorage(), delays=MemoryDelayStore())
    if url.startswith(("redis://", "rediss://")):
        client = Redis.from_url(url)
        return LimitStorage(
            windows=RedisStorage(url, implementation="redispy", key_prefix=key_prefix),
            delays=RedisDelayStore(client, key_prefix=key_prefix),
            redis=client,
        )
    raise ValueError(f"RATE_LIMIT_STORAGE_URL: unsupported scheme in {url.split('://')[0]!r}")
