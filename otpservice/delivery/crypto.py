"""Secrets at rest, encrypted (AES-GCM, a key derived from OTP_SECRET_KEY per purpose).

An OTP message holds its code until it is sent, and an authenticator factor holds its secret
for as long as it lives: the database must never hold either readable.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12
OUTBOX_BODY = b"otpservice outbox body v1"
TOTP_SECRET = b"otpservice totp secret v1"


def derive_key(secret: str, purpose: bytes = OUTBOX_BODY) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode())


class BodyCipher:
    def __init__(self, secrets: list[str], purpose: bytes = OUTBOX_BODY) -> None:
        """`secrets[0]` encrypts; every one of them is tried to decrypt (key rotation)."""
        self._ciphers = [AESGCM(derive_key(secret, purpose)) for secret in secrets]

    def encrypt(self, body: str, message_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._ciphers[0].encrypt(nonce, body.encode(), message_id.encode())

    def decrypt(self, blob: bytes, message_id: str) -> str | None:
        """The body, or None when no key opens it (key lost or rotated out)."""
        opened = self._open(blob, message_id)
        return opened[1] if opened is not None else None

    def reseal(self, blob: bytes, message_id: str) -> bytes | None:
        """The body encrypted again under the current key when a previous key opened it; else None."""
        opened = self._open(blob, message_id)
        if opened is None or opened[0] == 0:
            return None
        return self.encrypt(opened[1], message_id)

    def _open(self, blob: bytes, message_id: str) -> tuple[int, str] | None:
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        for index, cipher in enumerate(self._ciphers):
            try:
                return index, cipher.decrypt(nonce, sealed, message_id.encode()).decode()
            except InvalidTag:
                continue
        return None
