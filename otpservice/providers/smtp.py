"""Email codes over SMTP (aiosmtplib): smtp:// with STARTTLS when the server offers it,
smtps:// with implicit TLS; user:password@ in the URL authenticates.

The body handed over is a MIME message with its Subject and parts (verify/message_text.py):
this sender adds From, To, Date and Message-ID.
"""

import email
import email.policy
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from otpservice.errors import (
    ProviderAnswerLost,
    ProviderCredentialsRefused,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from otpservice.providers.base import OutgoingSms, SendReceipt

log = logging.getLogger("otpservice.providers")
EMAIL_ONLY: frozenset[str] = frozenset({"email"})


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str  # EMAIL_FROM
    implicit_tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str, sender: str, timeout: float = 10.0) -> "SmtpConfig":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL: expected smtp://[user:password@]host:port or smtps://...")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587),
            sender=sender,
            implicit_tls=implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )


class SmtpProvider:
    name = "smtp"
    channels = EMAIL_ONLY

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, sms: OutgoingSms) -> SendReceipt:
        config = self._config
        message = email.message_from_string(sms.body, policy=email.policy.default)
        message_id = make_msgid(idstring=uuid.uuid4().hex[:12], domain=config.sender.rpartition("@")[2] or None)
        message["From"], message["To"] = config.sender, sms.receiver
        message["Date"], message["Message-ID"] = formatdate(usegmt=True), message_id
        try:
            await aiosmtplib.send(
                message,
                sender=config.sender,
                recipients=[sms.receiver],
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.implicit_tls,
                start_tls=False if config.implicit_tls else None,  # None: STARTTLS when offered
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise _error(exc) from None
        return SendReceipt(sid=message_id.strip("<>")[:64], provider_status="sent")

    async def balance(self) -> Decimal | None:
        return None


def _error(exc: aiosmtplib.SMTPException) -> ProviderError:
    """RFC 5321: 5xx refuses for good, 4xx asks to retry; a connection lost after DATA may
    have delivered."""
    log.warning("smtp send failed", extra={"provider": "smtp", "error": type(exc).__name__})
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return ProviderCredentialsRefused(f"the SMTP server refused our credentials ({exc.code})")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in exc.recipients]
        if all(code >= 500 for code in codes):
            return ProviderRejected(f"the SMTP server refused the address ({codes[0] if codes else 550})")
        return ProviderUnavailable("the SMTP server deferred the address")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code >= 500:
            return ProviderRejected(f"the SMTP server refused the email ({exc.code})")
        return ProviderUnavailable(f"the SMTP server deferred the email ({exc.code})")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return ProviderTimeout("the SMTP server did not answer in time")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return ProviderUnavailable("the SMTP server is unreachable")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return ProviderAnswerLost("the SMTP server dropped the connection")
    return ProviderUnavailable(f"SMTP error ({type(exc).__name__})")
