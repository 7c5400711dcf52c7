"""Bodies waiting in the outbox are encrypted (AES-GCM, key derived from OTP_SECRET_KEY).

An OTP message holds its code until it is sent: the database must never hold it readable.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


def derive_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"otpservice outbox body v1").derive(
        secret.encode()
    )


class BodyCipher:
    def __init__(self, secrets: list[str]) -> None:
        """`secrets[0]` encrypts; every one of them is tried to decrypt (key rotation)."""
        self._ciphers = [AESGCM(derive_key(secret)) for secret in secrets]

    def encrypt(self, body: str, message_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._ciphers[0].encrypt(nonce, body.encode(), message_id.encode())

    def decrypt(self, blob: bytes, message_id: str) -> str | None:
        """The body, or None when no key opens it (key lost or rotated out)."""
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, sealed, message_id.encode()).decode()
            except InvalidTag:
                continue
        return None
