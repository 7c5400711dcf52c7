"""RFC 6238 codes with pyotp, on a time the caller gives (the injected clock): no I/O here.

A code is matched to the time step it belongs to, within `skew` steps either side of now, so
that the store can accept each step once per factor.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
from pyotp.utils import build_uri

# pyotp refuses fewer than 6 digits; the last n digits of a longer code are RFC 4226's n-digit
# value (both are the truncated number mod 10^n), as verify/codes.py does for SMS codes.
PYOTP_MIN_DIGITS = 6
DIGESTS: dict[str, Callable[..., Any]] = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
MIN_DIGITS, MAX_DIGITS = 3, 8
MIN_PERIOD, MAX_PERIOD = 20, 60
MAX_SKEW = 2


@dataclass(frozen=True)
class TotpConfig:
    """How a factor's codes are made: the defaults of SPEC 21 (6 digits, 30 s, SHA-1, one step)."""

    digits: int = 6
    period: int = 30
    algorithm: str = "sha1"
    skew: int = 1

    def __post_init__(self) -> None:
        if not MIN_DIGITS <= self.digits <= MAX_DIGITS:
            raise ValueError(f"digits: {MIN_DIGITS} to {MAX_DIGITS}")
        if not MIN_PERIOD <= self.period <= MAX_PERIOD:
            raise ValueError(f"period: {MIN_PERIOD} to {MAX_PERIOD} seconds")
        if self.algorithm not in DIGESTS:
            raise ValueError("algorithm: sha1, sha256 or sha512")
        if not 0 <= self.skew <= MAX_SKEW:
            raise ValueError(f"skew: 0 to {MAX_SKEW} steps")


def new_secret() -> str:
    """160 random bits in Base32 (RFC 4226's recommended length), as authenticator apps take them."""
    return pyotp.random_base32(32)


def is_base32_secret(secret: str) -> bool:
    """At least 128 bits of unpadded Base32 that decodes (what Binding.Secret may bring)."""
    if not 26 <= len(secret) <= 128 or not set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"):
        return False
    try:
        base64.b32decode(secret + "=" * (-len(secret) % 8))
    except binascii.Error:
        return False
    return True


def step_at(epoch_seconds: float, period: int) -> int:
    return int(epoch_seconds // period)


def code_at_step(secret: str, config: TotpConfig, step: int) -> str:
    digits = max(config.digits, PYOTP_MIN_DIGITS)
    totp = pyotp.TOTP(secret, digits=digits, digest=DIGESTS[config.algorithm], interval=config.period)
    return totp.generate_otp(step)[-config.digits :]


def code_at(secret: str, config: TotpConfig, epoch_seconds: float) -> str:
    return code_at_step(secret, config, step_at(epoch_seconds, config.period))


def matching_step(secret: str, config: TotpConfig, candidate: str, now: float) -> int | None:
    """The newest step within `skew` of now whose code is `candidate`, or None. Every step of
    the window is compared (no early exit), in constant time."""
    current = step_at(now, config.period)
    found: int | None = None
    for step in range(current - config.skew, current + config.skew + 1):
        if hmac.compare_digest(code_at_step(secret, config, step).encode(), candidate.encode()):
            found = step
    return found


def provisioning_uri(secret: str, config: TotpConfig, *, label: str, issuer: str) -> str:
    """The Key URI Format (`otpauth://totp/issuer:label?secret=…&issuer=…`); digits and period
    appear when they are not the format's defaults (6, 30)."""
    return build_uri(
        secret,
        label,
        issuer=issuer,
        algorithm=config.algorithm.upper(),
        digits=config.digits,
        period=config.period,
    )
