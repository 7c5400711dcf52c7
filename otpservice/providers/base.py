"""What every provider offers: send one SMS, and read the account balance.

A provider knows nothing of OTP. It raises the ProviderError family of errors.py.
"""

import asyncio
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import aiohttp
import httpx

from otpservice.core.phone import mask_phone
from otpservice.errors import (
    ProviderAnswerLost,
    ProviderCredentialsRefused,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)

log = logging.getLogger("otpservice.providers")

_DIGIT_RUN = re.compile(r"\+?\d{6,15}")


# The channels of a message: a phone number's (sms, whatsapp, call) and email.
SMS_ONLY: frozenset[str] = frozenset({"sms"})
PHONE_CHANNELS: frozenset[str] = frozenset({"sms", "whatsapp", "call"})


@dataclass(frozen=True)
class OutgoingSms:
    """`channel` sms, whatsapp, call or email; `language` (e.g. en-US) is the voice's, for a call."""

    receiver: str
    body: str
    sender: str | None = None
    status_callback: str | None = None
    client_ref: str | None = None
    channel: str = "sms"
    language: str | None = None


@dataclass(frozen=True)
class SendReceipt:
    """`sid` None: the provider took the message but its id could not be read.
    `part_ids`: every part's id of a multi-part send (Vonage), the first being `sid`."""

    sid: str | None
    provider_status: str
    segments: int | None = None
    part_ids: tuple[str, ...] = ()


class SmsProvider(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> SendReceipt: ...

    async def balance(self) -> Decimal | None:
        """The account balance, or None when the provider does not say."""
        ...


def channels_of(provider: object) -> frozenset[str]:
    """The channels a provider can send on (SMS only unless it says more)."""
    channels = getattr(provider, "channels", SMS_ONLY)
    return channels if isinstance(channels, frozenset) else SMS_ONLY


async def call_provider(
    client: httpx.AsyncClient, provider: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """One HTTP call with transport failures turned into ProviderErrors.

    The client's timeouts bound each phase (connect, each read); the call as a whole
    is also bounded by the read timeout, so that PROVIDER_TIMEOUT is a total. A failure
    before the request could leave (refused, connect timeout, no pooled connection) is
    ProviderUnavailable / ProviderTimeout; one after it may have left is ProviderAnswerLost.
    """
    total = client.timeout.read
    try:
        async with asyncio.timeout(total):
            return await client.request(method, url, **kwargs)
    except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
        timed_out, unsent = _timed_out(exc), never_sent(exc)
        log.warning(
            "provider call failed",
            extra={"provider": provider, "error": type(exc).__name__, "sent": "no" if unsent else "unknown"},
        )
        if not unsent:
            raise ProviderAnswerLost(
                f"{provider} did not answer in time"
                if timed_out
                else f"{provider} dropped the connection before answering"
            ) from None
        if timed_out:
            raise ProviderTimeout(f"{provider} could not be reached in time") from None
        raise ProviderUnavailable(f"{provider} is unreachable") from None


def _origin(exc: BaseException) -> BaseException:
    # httpx-aiohttp maps aiohttp's errors onto httpx's (every connection error becomes
    # ConnectTimeout): judge by the aiohttp exception it came from.
    return exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc


def _timed_out(exc: BaseException) -> bool:
    return isinstance(_origin(exc), (httpx.TimeoutException, TimeoutError))


def never_sent(exc: BaseException) -> bool:
    """True when the request certainly never reached the provider: no connection was made."""
    origin = _origin(exc)
    if isinstance(origin, aiohttp.ClientError):
        return isinstance(origin, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))
    return isinstance(origin, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def raise_for_common_status(provider: str, response: httpx.Response) -> None:
    """Map the statuses every provider shares: 401/403 credentials, 429, 5xx."""
    if response.status_code >= 400:
        raise common_error(provider, response)


def common_error(provider: str, response: httpx.Response) -> ProviderError:
    """The error for a failed answer known only by its HTTP status."""
    status = response.status_code
    if status in (401, 403):
        return ProviderCredentialsRefused(f"{provider} refused our credentials (HTTP {status})")
    if status == 429:
        return ProviderRateLimited(f"{provider} is throttling requests", retry_after=retry_after_seconds(response))
    if status >= 500:
        return ProviderUnavailable(f"{provider} answered HTTP {status}")
    return ProviderRejected(f"{provider} rejected the message (HTTP {status})")


def retry_after_seconds(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def to_decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def scrub(text: object, limit: int = 160) -> str:
    """A provider's own words, fit for an error message and a log line: numbers masked."""
    cleaned = _DIGIT_RUN.sub(lambda match: mask_phone(match.group()), " ".join(str(text).split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SAFE_WORD = re.compile(r"[A-Za-z0-9 ._-]{1,32}")


def provider_id(value: object) -> str | None:
    """A provider's message id fit to store and look up, else None (unknown)."""
    return value if isinstance(value, str) and _SAFE_ID.fullmatch(value) else None


def provider_word(value: object, default: str = "unknown") -> str:
    """A provider's status word fit to store (32 plain characters), else `default`."""
    text = str(value).strip() if value is not None else ""
    return text if _SAFE_WORD.fullmatch(text) else default


# A 1600-character UCS-2 body is 25 parts: anything far above is no count worth storing.
MAX_SEGMENTS = 1000


def provider_count(value: object) -> int | None:
    """A provider's segment count fit to store (1..MAX_SEGMENTS), else None (not reported)."""
    try:
        count = int(str(value))
    except ValueError:
        return None
    return count if 0 < count <= MAX_SEGMENTS else None


def log_unreadable_answer(provider: str, response: httpx.Response) -> None:
    """A 2xx whose body lacks what a success must carry (a proxy page, a changed API): the
    provider may well have taken the message, so it counts as sent, its id unknown."""
    log.warning("unreadable provider answer", extra={"provider": provider, "status": response.status_code})
