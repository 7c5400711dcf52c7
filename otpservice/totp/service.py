"""TotpService: enrol a factor, verify it, check a code for an identity, recovery codes,
entities. Knows no HTTP and no SQL: it raises errors.py's errors and returns records.

A factor's secret is shown once, in the Enrolment; after that it lives only encrypted.
"""

import io
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import segno

from otpservice.clock import Clock, to_datetime
from otpservice.errors import EntityNotFound, FactorNotFound, InvalidRequest
from otpservice.observability import metrics
from otpservice.totp.codes import TotpConfig, new_secret, provisioning_uri
from otpservice.totp.judge import CodeJudge, is_totp_shape
from otpservice.totp.ports import VERIFIED, EntityRecord, FactorRecord, SecretCipher, TotpStore
from otpservice.totp.recovery import is_recovery_shape, new_recovery_codes, recovery_hash

log = logging.getLogger("otpservice.totp")

FACTOR_SID = re.compile(r"YF[0-9a-f]{32}")
# Twilio: 8 to 64 dash-separated alphanumerics; kept here wider (ids and e-mail-like names),
# but never a slash or a space: it travels in URL paths.
IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
MAX_LABEL = 64


@dataclass(frozen=True)
class TotpRules:
    skew: int = 1  # TOTP_SKEW: the default for new factors
    issuer: str = "otpservice"  # OTP_APP_NAME: the default issuer shown by authenticator apps


@dataclass(frozen=True)
class Enrolment:
    """A new factor and what the user's app needs, shown in this answer only."""

    factor: FactorRecord
    secret: str
    uri: str
    qr_svg: str


@dataclass(frozen=True)
class CheckResult:
    approved: bool
    factor_sid: str | None = None
    recovery_code: bool = False


def check_identity(identity: str) -> str:
    if not IDENTITY.fullmatch(identity):
        raise InvalidRequest("identity: 1 to 64 characters of A-Z a-z 0-9 . _ @ + -, starting with a letter or digit")
    return identity


def qr_svg(uri: str) -> str:
    """The URI as a QR code, an SVG document (dark modules on white) any browser shows."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", xmldecl=False, scale=4, light="#fff")
    return out.getvalue().decode()


class TotpService:
    def __init__(self, store: TotpStore, cipher: SecretCipher, clock: Clock, rules: TotpRules) -> None:
        self._store, self._cipher, self._clock, self.rules = store, cipher, clock, rules
        self.judge = CodeJudge(store, cipher, clock)

    # --- factors ------------------------------------------------------------------
    async def enrol(
        self,
        identity: str,
        *,
        label: str | None = None,
        issuer: str | None = None,
        config: TotpConfig | None = None,
        secret: str | None = None,
        service_sid: str | None = None,
    ) -> Enrolment:
        """A new unverified factor; the identity's entity is made when it has none."""
        check_identity(identity)
        for name, value in (("label", label), ("issuer", issuer)):
            if value is not None and not (0 < len(value) <= MAX_LABEL and value.isprintable() and ":" not in value):
                raise InvalidRequest(f"{name}: 1 to {MAX_LABEL} printable characters, no colon")
        config = config or TotpConfig(skew=self.rules.skew)
        now = to_datetime(self._clock.now())
        entity = await self._store.ensure_entity("YE" + uuid.uuid4().hex, identity, service_sid, now)
        sid = "YF" + uuid.uuid4().hex
        secret = secret or new_secret()
        label, issuer = label or identity, issuer or self.rules.issuer
        factor = await self._store.add_factor(
            sid=sid,
            entity=entity,
            friendly_name=label,
            issuer=issuer,
            secret_ciphertext=self._cipher.encrypt(secret, sid),
            digits=config.digits,
            period=config.period,
            algorithm=config.algorithm,
            skew=config.skew,
            now=now,
        )
        metrics.totp_enrolment("created")
        log.info("totp factor created", extra={"factor_sid": sid, "entity_sid": entity.sid})
        uri = provisioning_uri(secret, config, label=label, issuer=issuer)
        return Enrolment(factor=factor, secret=secret, uri=uri, qr_svg=qr_svg(uri))

    async def factor(self, sid: str, identity: str | None = None) -> FactorRecord:
        found = await self._store.get_factor(sid) if FACTOR_SID.fullmatch(sid) else None
        if found is None or (identity is not None and found.identity != identity):
            raise FactorNotFound()
        return found

    async def factors_of(self, identity: str) -> Sequence[FactorRecord]:
        return await self._store.factors_of(check_identity(identity))

    async def verify(self, sid: str, code: str, identity: str | None = None) -> FactorRecord:
        """The factor after the code: `verified` once a right code came (a wrong one leaves it as it was)."""
        factor = await self.factor(sid, identity)
        was_verified = factor.status == VERIFIED
        if await self.judge.judge(factor, code):
            metrics.totp_check("approved")
            if not was_verified:
                metrics.totp_enrolment("verified")
                log.info("totp factor verified", extra={"factor_sid": sid})
        return await self.factor(sid)

    async def delete(self, sid: str, identity: str | None = None) -> None:
        factor = await self.factor(sid, identity)
        if not await self._store.delete_factor(factor.sid):
            raise FactorNotFound()
        metrics.totp_enrolment("deleted")
        log.info("totp factor deleted", extra={"factor_sid": sid})

    # --- checks -------------------------------------------------------------------
    async def check(self, identity: str, code: str) -> CheckResult:
        """A code of any verified factor of the identity, or one of its recovery codes."""
        factors = [f for f in await self.factors_of(identity) if f.status == VERIFIED]
        if is_recovery_shape(code) and not is_totp_shape(code):
            return await self._recover(identity, code, factors)
        if not factors:
            raise EntityNotFound("No verified authenticator factor for this identity")
        for factor in factors:
            step = self.judge.step_of(factor, code)
            if step is not None:
                if await self.judge.accept(factor, step):
                    metrics.totp_check("approved")
                    return CheckResult(approved=True, factor_sid=factor.sid)
                return CheckResult(approved=False)  # a replay
        await self._count_everywhere(factors)
        metrics.totp_check("wrong_code")
        return CheckResult(approved=False)

    async def _recover(self, identity: str, code: str, factors: Sequence[FactorRecord]) -> CheckResult:
        if await self._store.use_recovery_code(identity, recovery_hash(identity, code), to_datetime(self._clock.now())):
            metrics.totp_check("recovery_code")
            log.info("totp recovery code used", extra={"identity_factors": len(factors)})
            return CheckResult(approved=True, recovery_code=True)
        if not factors:
            raise EntityNotFound("No verified authenticator factor for this identity")
        await self._count_everywhere(factors)
        metrics.totp_check("recovery_denied")
        return CheckResult(approved=False)

    async def _count_everywhere(self, factors: Sequence[FactorRecord]) -> None:
        """A wrong code is wrong for each factor: counted on each; 429 when every one is locked."""
        counted = [await self.judge.count_failure(factor) for factor in factors]
        if not any(counted):
            errors = [await self.judge.locked_error(factor.sid) for factor in factors]
            raise min(errors, key=lambda error: error.retry_after or 0)

    # --- recovery codes -----------------------------------------------------------
    async def new_recovery_codes(self, identity: str) -> list[str]:
        """Ten new codes, replacing the identity's earlier ones; it needs a verified factor."""
        if not any(f.status == VERIFIED for f in await self.factors_of(identity)):
            raise EntityNotFound("No verified authenticator factor for this identity")
        codes = new_recovery_codes()
        hashes = [recovery_hash(identity, code) for code in codes]
        await self._store.replace_recovery_codes(identity, hashes, to_datetime(self._clock.now()))
        metrics.totp_enrolment("recovery_codes")
        return codes

    async def recovery_codes_left(self, identity: str) -> int:
        return await self._store.recovery_codes_left(identity)

    # --- entities -----------------------------------------------------------------
    async def create_entity(self, identity: str, service_sid: str | None) -> EntityRecord:
        now = to_datetime(self._clock.now())
        return await self._store.ensure_entity("YE" + uuid.uuid4().hex, check_identity(identity), service_sid, now)

    async def find_entity(self, identity: str) -> EntityRecord | None:
        return await self._store.get_entity(identity) if IDENTITY.fullmatch(identity) else None

    async def entity(self, identity: str, service_sid: str | None = None) -> EntityRecord:
        found = await self._store.get_entity(identity) if IDENTITY.fullmatch(identity) else None
        if found is None or found.service_sid not in (None, service_sid):
            raise EntityNotFound("Entity not found")
        return found

    async def entities(self, service_sid: str | None) -> Sequence[EntityRecord]:
        return await self._store.list_entities(service_sid)

    async def delete_entity(self, identity: str, service_sid: str | None = None) -> None:
        found = await self.entity(identity, service_sid)
        if not await self._store.delete_entity(found.identity):
            raise EntityNotFound("Entity not found")
