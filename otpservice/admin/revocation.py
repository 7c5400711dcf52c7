"""Sessions ended by logout, kept in the database (every replica, every restart) until they
would have expired anyway: a copied cookie stops working at logout, not 12 h later.

The console fails closed: while the limit storage does not answer, no session is judged
(LimitsUnavailable, 503), as no login can be counted either (api/admin_lockout.py).
"""

import logging

from limits.aio.storage import Storage

from otpservice.admin.session import SESSION_SECONDS
from otpservice.clock import Clock, to_datetime
from otpservice.db.revoked import RevokedSessionStore
from otpservice.errors import LimitsUnavailable
from otpservice.limits.budget_store import StorageUnavailable, bounded

log = logging.getLogger("otpservice.admin")


class RevokedSessions:
    def __init__(self, store: RevokedSessionStore, storage: Storage, clock: Clock) -> None:
        self._store, self._storage, self._clock = store, storage, clock

    async def add(self, nonce: str) -> None:
        now = self._clock.now()
        await self._store.add(nonce, to_datetime(now + SESSION_SECONDS), to_datetime(now))

    async def contains(self, nonce: str) -> bool:
        """Whether the session was logged out; raises LimitsUnavailable while the limit
        storage does not answer (the console then answers 503)."""
        try:
            answers = await bounded(self._storage.check())
        except StorageUnavailable:
            answers = False
        if not answers:
            log.warning("console session: limit storage unavailable, no session judged")
            raise LimitsUnavailable("Admin sessions cannot be checked now, retry later")
        return await self._store.contains(nonce, to_datetime(self._clock.now()))
