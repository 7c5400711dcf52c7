"""Challenges (Twilio's Entities/{identity}/Challenges for TOTP factors): a request to prove the
factor, answered with a code at once or later. A right code approves it; a wrong one leaves it
pending (Twilio's answer since 2021) and counts toward the factor's lockout."""

import logging
import re
import uuid
from collections.abc import Sequence

from otpservice.clock import Clock, to_datetime
from otpservice.errors import ChallengeNotFound, FactorNotVerified, InvalidRequest
from otpservice.observability import metrics
from otpservice.totp.ports import VERIFIED, ChallengeRecord, TotpStore
from otpservice.totp.service import TotpService

log = logging.getLogger("otpservice.totp")

CHALLENGE_SID = re.compile(r"YC[0-9a-f]{32}")
PENDING, APPROVED, EXPIRED = "pending", "approved", "expired"
DEFAULT_TTL, MAX_TTL = 5 * 60, 60 * 60


class ChallengeService:
    def __init__(self, totp: TotpService, store: TotpStore, clock: Clock) -> None:
        self._totp, self._store, self._clock = totp, store, clock

    async def create(
        self, identity: str, factor_sid: str, code: str | None, expires_at: float | None = None
    ) -> ChallengeRecord:
        factor = await self._totp.factor(factor_sid, identity)
        if factor.status != VERIFIED:
            raise FactorNotVerified()
        now = self._clock.now()
        if expires_at is None:
            expires_at = now + DEFAULT_TTL
        if not now < expires_at <= now + MAX_TTL:
            raise InvalidRequest("ExpirationDate: within the next hour")
        challenge = await self._store.add_challenge(
            sid="YC" + uuid.uuid4().hex, factor=factor, now=to_datetime(now), expires_at=to_datetime(expires_at)
        )
        if code is None:
            return challenge
        return await self.respond(identity, challenge.sid, code)

    async def get(self, identity: str, sid: str) -> ChallengeRecord:
        found = await self._store.get_challenge(sid) if CHALLENGE_SID.fullmatch(sid) else None
        if found is None or found.identity != identity:
            raise ChallengeNotFound()
        if found.status == PENDING and found.expires_at.timestamp() <= self._clock.now():
            settled = await self._store.settle_challenge(sid, EXPIRED, "none", to_datetime(self._clock.now()))
            return settled or await self._store.get_challenge(sid) or found
        return found

    async def of(self, identity: str) -> Sequence[ChallengeRecord]:
        return [await self.get(identity, found.sid) for found in await self._store.challenges_of(identity)]

    async def respond(self, identity: str, sid: str, code: str) -> ChallengeRecord:
        """Answer a pending challenge with a code; a settled one is returned as it is."""
        challenge = await self.get(identity, sid)
        if challenge.status != PENDING:
            return challenge
        factor = await self._totp.factor(challenge.factor_sid, identity)
        if not await self._totp.judge.judge(factor, code):
            return challenge
        metrics.totp_check("approved")
        settled = await self._store.settle_challenge(sid, APPROVED, "none", to_datetime(self._clock.now()))
        log.info("totp challenge approved", extra={"challenge_sid": sid, "factor_sid": factor.sid})
        return settled or await self.get(identity, sid)
