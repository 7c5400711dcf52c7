"""One-time codes that are never stored: derived again, when needed, from the row and the key.

secret = HMAC-SHA256(key, verification id + salt); code = HOTP(secret, counter 0), so a row
(id, salt, key id) without the key yields no code. The key id names which key made a
verification: the current OTP_SECRET_KEY or one of OTP_PREVIOUS_SECRET_KEYS (rotation).
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

import pyotp

# Rows of test numbers carry this key id: their code is the configured one, not a derived one.
TEST_NUMBER_KEY_ID = "test-number"
PYOTP_MIN_DIGITS = 6


def new_salt() -> str:
    return secrets.token_hex(16)


def key_id_of(key: str) -> str:
    """A short name for a key; it tells nothing of the key (HMAC of a constant)."""
    return hmac.new(key.encode(), b"otpservice key id v1", hashlib.sha256).hexdigest()[:16]


class CodeBook:
    """Derives and checks codes under the current key and the previous ones."""

    def __init__(self, current_key: str, previous_keys: Sequence[str] = ()) -> None:
        self.current_key_id = key_id_of(current_key)
        self._keys = {key_id_of(key): key.encode() for key in [current_key, *previous_keys]}

    def pseudonym(self, value: str) -> str:
        """A keyed hash, for identifiers kept only to compare them in audits (client IPs)."""
        key = self._keys[self.current_key_id]
        return hmac.new(key, b"pseudonym:" + value.encode(), hashlib.sha256).hexdigest()

    def code_for(self, verification_id: str, salt: str, key_id: str, length: int) -> str | None:
        """The code of a verification, or None when its key is no longer configured."""
        key = self._keys.get(key_id)
        if key is None:
            return None
        secret = hmac.new(key, (verification_id + salt).encode(), hashlib.sha256).digest()
        # pyotp refuses fewer than 6 digits; the last `length` digits of a longer HOTP are
        # exactly RFC 4226's value for `length` (both are the truncated number mod 10^length).
        code = pyotp.HOTP(base64.b32encode(secret).decode(), digits=max(length, PYOTP_MIN_DIGITS)).at(0)
        return code[-length:]

    def matches(self, verification_id: str, salt: str, key_id: str, length: int, candidate: str) -> bool:
        expected = self.code_for(verification_id, salt, key_id, length)
        # Compared even when there is no code, so that timing tells nothing either way.
        reference = expected if expected is not None else "\x00" * length
        return hmac.compare_digest(reference.encode(), candidate.encode()) and expected is not None


def fixed_code_matches(fixed_code: str | None, candidate: str) -> bool:
    reference = fixed_code if fixed_code is not None else "\x00"
    return hmac.compare_digest(reference.encode(), candidate.encode()) and fixed_code is not None
