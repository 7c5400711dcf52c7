"""Vonage (Nexmo) SMS API: send one SMS, read the account balance.

Vonage answers HTTP 200 even when it refuses: the verdict is in each messages[] entry.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

import httpx

from otpservice.core.segments import is_gsm7
from otpservice.errors import (
    OTPServiceError,
    ProviderCredentialsRefused,
    ProviderInsufficientBalance,
    ProviderInvalidNumber,
    ProviderNumberBlocked,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from otpservice.providers.base import (
    SMS_ONLY,
    OutgoingSms,
    SendReceipt,
    call_provider,
    common_error,
    json_or_empty,
    log_unreadable_answer,
    provider_count,
    provider_id,
    scrub,
    to_decimal,
)
from otpservice.providers.vonage_apps import APP_CHANNELS, VonageAppConfig, VonageApps

# Statuses of https://developer.vonage.com/en/api-errors/sms that no retry can mend.
_REJECTED = {
    "6": "invalid message",
    "8": "account barred",
    "12": "message too long",
    "15": "invalid sender address",
    "29": "non-whitelisted destination",
}
_ABOUT_NUMBER = re.compile(r"\bto\b|number|msisdn|recipient|destination", re.I)
_ABOUT_SENDER = re.compile(r"\bfrom\b|sender", re.I)


@dataclass(frozen=True, slots=True)
class VonageConfig:
    """What VonageProvider reads."""

    base_url: str
    api_key: str
    api_secret: str = field(repr=False)
    apps: VonageAppConfig | None = None  # WhatsApp and voice (an application and its key)


class VonageProvider:
    name = "vonage"

    def __init__(self, config: VonageConfig, client: httpx.AsyncClient) -> None:
        self._client = client
        self._base = config.base_url.rstrip("/")
        self._api_key = config.api_key
        self._api_secret = config.api_secret
        self._apps = VonageApps(config.apps, client) if config.apps is not None else None
        self.channels = SMS_ONLY | (APP_CHANNELS if self._apps is not None else frozenset())

    async def send(self, sms: OutgoingSms) -> SendReceipt:
        if sms.channel in APP_CHANNELS:
            if self._apps is None:
                raise ProviderRejected(f"vonage needs VONAGE_APPLICATION_ID for {sms.channel}")
            return await self._apps.send(sms)
        form = {
            "api_key": self._api_key,
            "api_secret": self._api_secret,
            "to": sms.receiver.lstrip("+"),
            "text": sms.body,
        }
        if sms.sender is not None:
            form["from"] = sms.sender.lstrip("+")
        if not is_gsm7(sms.body):
            form["type"] = "unicode"
        if sms.status_callback:
            form["callback"] = sms.status_callback
        if sms.client_ref:
            form["client-ref"] = sms.client_ref
        response = await call_provider(self._client, self.name, "POST", f"{self._base}/sms/json", data=form)
        if not response.is_success:
            raise common_error(self.name, response)
        body = json_or_empty(response)
        entries = [entry for entry in body.get("messages") or [] if isinstance(entry, dict)]
        if not entries:
            log_unreadable_answer(self.name, response)
            return SendReceipt(sid=None, provider_status="unknown")
        for entry in entries:
            status = str(entry.get("status", ""))
            if status != "0":
                raise _error(status, str(entry.get("error-text") or ""))
        # A long text goes as several parts, each with its own id: receipts come per part.
        parts = tuple(part for part in (provider_id(entry.get("message-id")) for entry in entries) if part)
        if not parts:
            log_unreadable_answer(self.name, response)
            return SendReceipt(sid=None, provider_status="unknown")
        return SendReceipt(
            sid=parts[0],
            provider_status="accepted",
            segments=provider_count(body.get("message-count")) or len(entries),
            part_ids=parts,
        )

    async def balance(self) -> Decimal | None:
        # Basic auth rather than the documented query parameters: the secret then never
        # appears in a URL (which HTTP client logs and proxies record).
        response = await call_provider(
            self._client,
            self.name,
            "GET",
            f"{self._base}/account/get-balance",
            auth=httpx.BasicAuth(self._api_key, self._api_secret),
        )
        if not response.is_success:
            raise common_error(self.name, response)
        return to_decimal(json_or_empty(response).get("value"))


def _error(status: str, error_text: str) -> OTPServiceError:
    detail = f"status {status}" + (f": {scrub(error_text)}" if error_text else "")
    if status == "1":
        return ProviderRateLimited(f"vonage is throttling requests ({detail})", retry_after=1)
    if status in ("2", "3"):
        if _ABOUT_NUMBER.search(error_text) and not _ABOUT_SENDER.search(error_text):
            return ProviderInvalidNumber(f"vonage says the number is invalid ({detail})")
        return ProviderRejected(f"vonage rejected the request parameters ({detail})")
    if status == "4":
        return ProviderCredentialsRefused(f"vonage refused our credentials (status {status})")
    if status == "5":
        return ProviderUnavailable(f"vonage had an internal error ({detail})")
    if status == "7":
        return ProviderNumberBlocked(f"vonage refused the number: barred ({detail})")
    if status == "9":
        return ProviderInsufficientBalance(f"vonage says the balance is insufficient ({detail})")
    reason = _REJECTED.get(status, "rejected the message")
    return ProviderRejected(f"vonage: {reason} ({detail})")
