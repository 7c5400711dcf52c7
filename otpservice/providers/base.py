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

from otpservice.errors import (
    ProviderCredentialsRefused,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    ProviderUnreadableAnswer,
)
from otpservice.core.phone import mask_phone

log = logging.getLogger("otpservice.providers")

_DIGIT_RUN = re.compile(r"\+?\d{6,15}")


@dataclass(frozen=True)
class OutgoingSms:
    receiver: str
    body: str
    sender: str | None = None
    status_callback: str | None = None
    client_ref: str | None = None


@dataclass(frozen=True)
class SendReceipt:
    sid: str
    provider_status: str
    segments: int | None = None


class SmsProvider(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> SendReceipt: ...

    async def balance(self) -> Decimal | None:
        """The account balance, or None when the provider does not say."""
        ...


async def call_provider(client: httpx.AsyncClient, provider: str, method: str, url: str,
                        **kwargs: Any) -> httpx.Response:
    """One HTTP call with transport failures turned into ProviderErrors.

    The client's timeouts bound each phase (connect, each read); the call as a whole
    is also bounded by the read timeout, so that PROVIDER_TIMEOUT is a total.
    """
    total = client.timeout.read
    try:
        async with asyncio.timeout(total):
            return await client.request(method, url, **kwargs)
    except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
        if _timed_out(exc):
            log.warning("provider call timed out", extra={"provider": provider})
            raise ProviderTimeout(f"{provider} did not answer in time") from None
        log.warning("provider unreachable", extra={"provider": provider, "error": type(exc).__name__})
        raise ProviderUnavailable(f"{provider} is unreachable") from None


def _timed_out(exc: BaseException) -> bool:
    # httpx-aiohttp maps every aiohttp connection error (refused, reset, disconnected)
    # to httpx.ConnectTimeout: judge by the aiohttp exception it came from.
    origin = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc
    return isinstance(origin, (httpx.TimeoutException, TimeoutError))


def raise_for_common_status(provider: str, response: httpx.Response) -> None:
    """Map the statuses every provider shares: 401/403 credentials, 429, 5xx."""
    if response.status_code >= 400:
        raise common_error(provider, response)


def common_error(provider: str, response: httpx.Response) -> ProviderError:
    """The error for a failed answer known only by its HTTP status."""
    status = response.status_code
    if status in (401, 403):
        return ProviderCredentialsRefused(f"{provider} refused our credentials")
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


def unreadable_answer(provider: str, response: httpx.Response) -> ProviderError:
    """A 2xx whose body lacks what a success must carry (a proxy page, a changed API)."""
    log.warning("unreadable provider answer", extra={"provider": provider, "status": response.status_code})
    return ProviderUnreadableAnswer(f"{provider} gave an unreadable answer (HTTP {response.status_code})")
