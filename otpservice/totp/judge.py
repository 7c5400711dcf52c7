"""One code against one factor: the step rule, the replay rule and the lockout, all decided by
one conditional statement of the store each, so that they hold under concurrency.

A right code for a step newer than the last accepted one is accepted (once: of 50 concurrent
right codes one wins). A wrong code takes one of the factor's MAX_FAILURES places in its
15-minute window before it is answered; a code that finds no place left is refused (429) until
the window ends. A right code that is a replay is denied without counting: it is no guess.
"""

import logging
import re

from otpservice.clock import Clock, to_datetime
from otpservice.errors import FactorNotFound, MaxAttemptsReached
from otpservice.observability import metrics
from otpservice.totp.codes import TotpConfig, matching_step
from otpservice.totp.ports import FactorRecord, SecretCipher, TotpStore

log = logging.getLogger("otpservice.totp")

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
_DIGITS = re.compile(r"[0-9]{3,8}")


def config_of(factor: FactorRecord) -> TotpConfig:
    return TotpConfig(digits=factor.digits, period=factor.period, algorithm=factor.algorithm, skew=factor.skew)


def is_totp_shape(code: str) -> bool:
    return _DIGITS.fullmatch(code) is not None


class CodeJudge:
    def __init__(self, store: TotpStore, cipher: SecretCipher, clock: Clock) -> None:
        self._store, self._cipher, self._clock = store, cipher, clock

    def secret_of(self, factor: FactorRecord) -> str | None:
        secret = self._cipher.decrypt(factor.secret_ciphertext, factor.sid)
        if secret is None:
            log.warning("a factor's secret opens with no configured key", extra={"factor_sid": factor.sid})
        return secret

    def step_of(self, factor: FactorRecord, code: str) -> int | None:
        """The step `code` is right for now (no store access), or None."""
        secret = self.secret_of(factor)
        if secret is None or len(code) != factor.digits or not is_totp_shape(code):
            return None
        return matching_step(secret, config_of(factor), code, self._clock.now())

    async def accept(self, factor: FactorRecord, step: int) -> bool:
        """Take `step` for the factor; False for a replay. Raises MaxAttemptsReached when locked."""
        now = self._clock.now()
        if await self._store.use_step(
            factor.sid, step, to_datetime(now), cutoff=to_datetime(now - LOCK_SECONDS), max_failures=MAX_FAILURES
        ):
            resealed = self._cipher.reseal(factor.secret_ciphertext, factor.sid)
            if resealed is not None:  # opened by a previous OTP_SECRET_KEY: now under the current one
                await self._store.reseal(factor.sid, resealed)
            return True
        await self.raise_if_locked(factor.sid)
        metrics.totp_check("replayed")
        return False

    async def count_failure(self, factor: FactorRecord) -> bool:
        """Count a wrong code; False (nothing counted) when the factor is locked."""
        now = self._clock.now()
        return await self._store.count_failure(
            factor.sid, to_datetime(now), cutoff=to_datetime(now - LOCK_SECONDS), max_failures=MAX_FAILURES
        )

    async def judge(self, factor: FactorRecord, code: str) -> bool:
        """True: right and accepted. False: wrong (counted) or a replay. Raises when locked."""
        step = self.step_of(factor, code)
        if step is not None:
            return await self.accept(factor, step)
        if not await self.count_failure(factor):
            raise await self.locked_error(factor.sid)
        metrics.totp_check("wrong_code")
        return False

    async def raise_if_locked(self, sid: str) -> None:
        fresh = await self._store.get_factor(sid)
        if fresh is None:
            raise FactorNotFound()
        wait = self.lock_remaining(fresh)
        if wait is not None:
            metrics.totp_check("locked")
            raise MaxAttemptsReached(retry_after=wait)

    async def locked_error(self, sid: str) -> MaxAttemptsReached:
        fresh = await self._store.get_factor(sid)
        if fresh is None:
            raise FactorNotFound()
        metrics.totp_check("locked")
        # The window may have just ended between the refusal and this read: then retry at once.
        return MaxAttemptsReached(retry_after=self.lock_remaining(fresh) or 1)

    def lock_remaining(self, factor: FactorRecord) -> float | None:
        """Seconds until a locked factor takes codes again; None when it is not locked."""
        start = factor.failure_window_start
        if factor.failures < MAX_FAILURES or start is None:
            return None
        remaining = start.timestamp() + LOCK_SECONDS - self._clock.now()
        return remaining if remaining > 0 else None
