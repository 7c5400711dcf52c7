"""What every provider offers: send one SMS, and read the account balance.

A provider knows nothing of OTP. It raises the ProviderError family of errors.py.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import httpx

from otpservice.errors import (
    ProviderCredentialsRefused,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)

log = logging.getLogger("otpservice.providers")


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
    """One HTTP call with transport failures turned into ProviderErrors."""
    try:
        return await client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        log.warning("provider call timed out", extra={"provider": provider})
        raise ProviderTimeout(f"{provider} did not answer in time") from None
    except httpx.TransportError as exc:
        log.warning("provider unreachable", extra={"provider": provider, "error": type(exc).__name__})
        raise ProviderUnavailable(f"{provider} is unreachable") from None


def raise_for_common_status(provider: str, response: httpx.Response) -> None:
    """Map the statuses every provider shares: 401/403 credentials, 429, 5xx."""
    status = response.status_code
    if status in (401, 403):
        raise ProviderCredentialsRefused(f"{provider} refused our credentials")
    if status == 429:
        raise ProviderRateLimited(f"{provider} is throttling requests",
                                  retry_after=retry_after_seconds(response))
    if status >= 500:
        raise ProviderUnavailable(f"{provider} answered HTTP {status}")
    if status >= 400:
        raise ProviderRejected(f"{provider} rejected the message (HTTP {status})")


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
        return Decimal(str(value))
    except InvalidOperation:
        return None
