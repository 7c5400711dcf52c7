"""Recovery codes: ten random single-use codes per identity, shown once, kept only as hashes.

Each holds about 50 random bits, so a plain SHA-256 (salted with the identity) is enough: no
online guessing reaches one, and the database alone gives none back.
"""

import hashlib
import re
import secrets

RECOVERY_CODES = 10
# No 0/o, 1/l/i: a code read from paper is typed back without doubt.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
HALF = 5
_SHAPE = re.compile(r"[a-z0-9]{10}")


def new_recovery_codes() -> list[str]:
    return [
        "-".join("".join(secrets.choice(ALPHABET) for _ in range(HALF)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]


def normalized(code: str) -> str:
    return code.replace("-", "").replace(" ", "").lower()


def is_recovery_shape(code: str) -> bool:
    return _SHAPE.fullmatch(normalized(code)) is not None


def recovery_hash(identity: str, code: str) -> str:
    return hashlib.sha256(f"otpservice recovery v1\x00{identity}\x00{normalized(code)}".encode()).hexdigest()
