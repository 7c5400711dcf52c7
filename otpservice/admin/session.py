"""The console's session: a signed cookie naming which admin key logged in, and CSRF tokens.

The signing key is derived from OTP_SECRET_KEY, so that any replica accepts a session made by
another. The cookie holds a keyed fingerprint of the admin key, never the key: a session stops
working once its key leaves ADMIN_API_KEYS. A CSRF token is an HMAC of the session's nonce.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "otpservice_admin"
LOGIN_COOKIE = "otpservice_admin_login"
SESSION_SECONDS = 12 * 3600
LOGIN_FORM_SECONDS = 3600
COOKIE_PATH = "/admin"


@dataclass(frozen=True)
class Session:
    fingerprint: str
    nonce: str

    @property
    def short(self) -> str:
        """What logs and pages show of the key that acts."""
        return self.fingerprint[:8]


class SessionKeys:
    def __init__(self, otp_secret: str, admin_keys: list[str]) -> None:
        self._key = hmac.new(otp_secret.encode(), b"otpservice/admin-console/v1", hashlib.sha256).digest()
        self._sessions = URLSafeTimedSerializer(self._key, salt="admin-session")
        self._logins = URLSafeTimedSerializer(self._key, salt="admin-login")
        self._admin = {self.fingerprint(key): key.encode() for key in admin_keys}

    def fingerprint(self, admin_key: str) -> str:
        return hmac.new(self._key, b"fingerprint:" + admin_key.encode(), hashlib.sha256).hexdigest()[:32]

    def login(self, presented: str) -> Session | None:
        """A new session when `presented` is one of the admin keys (every key compared, every time)."""
        digest = hashlib.sha256(presented.encode()).digest()
        matched: str | None = None
        for fingerprint, key in self._admin.items():
            if hmac.compare_digest(digest, hashlib.sha256(key).digest()):
                matched = fingerprint
        return Session(matched, secrets.token_urlsafe(16)) if matched else None

    def dump(self, session: Session) -> str:
        return self._sessions.dumps({"k": session.fingerprint, "n": session.nonce})

    def load(self, cookie: str | None) -> Session | None:
        """The session of a cookie that is signed, younger than 12 h, and whose key still counts."""
        if not cookie:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("k") not in self._admin or not isinstance(data.get("n"), str):
            return None
        return Session(data["k"], data["n"])

    def csrf_token(self, nonce: str) -> str:
        return hmac.new(self._key, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, nonce: str | None, presented: object) -> bool:
        if not nonce or not isinstance(presented, str):
            return False
        return hmac.compare_digest(self.csrf_token(nonce).encode(), presented.encode())

    # The login form has no session yet: its token is tied to a nonce in a short-lived cookie.
    def new_login_nonce(self) -> tuple[str, str]:
        nonce = secrets.token_urlsafe(16)
        return nonce, self._logins.dumps(nonce)

    def login_nonce(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            nonce = self._logins.loads(cookie, max_age=LOGIN_FORM_SECONDS)
        except BadSignature:
            return None
        return nonce if isinstance(nonce, str) else None
