"""Sessions ended by logout, kept in the limit storage (shared by replicas) until they would
have expired anyway: a copied cookie stops working at logout, not 12 h later.

When the limit storage does not answer, a session is judged by its cookie alone (an operator
must reach the console in an outage), and the storage's silence is logged.
"""

import logging

from limits.aio.storage import Storage

from otpservice.admin.session import SESSION_SECONDS
from otpservice.limits.budget_store import StorageUnavailable, bounded

log = logging.getLogger("otpservice.admin")


class RevokedSessions:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def add(self, nonce: str) -> None:
        try:
            await bounded(self._storage.incr(_key(nonce), SESSION_SECONDS))
        except StorageUnavailable:
            log.warning("console logout: limit storage unavailable, the session cookie stays valid until it expires")

    async def contains(self, nonce: str) -> bool:
        try:
            return await bounded(self._storage.get(_key(nonce))) > 0
        except StorageUnavailable:
            log.warning("console session: limit storage unavailable, logouts not checked")
            return False


def _key(nonce: str) -> str:
    return "admin-session-revoked/" + nonce
