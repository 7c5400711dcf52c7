"""Sessions ended by logout, kept in the limit storage (shared by replicas) until they would
have expired anyway: a copied cookie stops working at logout, not 12 h later.

When the limit storage does not answer, a session is judged by its cookie alone (an operator
must reach the console in an outage), and the storage's silence is logged.
"""

import asyncio
import logging

from limits.aio.storage import Storage
from redis.exceptions import RedisError

from otpservice.admin.session import SESSION_SECONDS
from otpservice.limits.budget_store import STORAGE_TIMEOUT_SECONDS

log = logging.getLogger("otpservice.admin")


class RevokedSessions:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def add(self, nonce: str) -> None:
        try:
            await asyncio.wait_for(self._storage.incr(_key(nonce), SESSION_SECONDS), STORAGE_TIMEOUT_SECONDS)
        except (TimeoutError, RedisError, OSError):
            log.warning("console logout: limit storage unavailable, the session cookie stays valid until it expires")

    async def contains(self, nonce: str) -> bool:
        try:
            return await asyncio.wait_for(self._storage.get(_key(nonce)), STORAGE_TIMEOUT_SECONDS) > 0
        except (TimeoutError, RedisError, OSError):
            log.warning("console session: limit storage unavailable, logouts not checked")
            return False


def _key(nonce: str) -> str:
    return "admin-session-revoked/" + nonce
