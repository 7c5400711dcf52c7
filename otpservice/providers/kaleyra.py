"""Kaleyra (kaleyra.io v1): send one SMS, read the prepaid balance."""

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

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
    OutgoingSms,
    SendReceipt,
    call_provider,
    common_error,
    json_or_empty,
    log_unreadable_answer,
    provider_id,
    provider_word,
    retry_after_seconds,
    scrub,
    to_decimal,
)

# Kaleyra's error codes are not published in a stable list, so errors are classified by
# their words. Order matters: the first matching class wins.
_CREDENTIALS = re.compile(r"api[-_ ]?key|unauthori[sz]ed|authenticat|invalid (sid|account)", re.I)
_THROTTLED = re.compile(r"throttl|rate limit|too many", re.I)
_NO_BALANCE = re.compile(r"balance|credit|insufficient|recharge", re.I)
_BLOCKED = re.compile(r"\bdnd\b|block|blacklist|barred|opt(ed)?[ -]?out|unsubscri", re.I)
_BAD_NUMBER = re.compile(r"number|recipient|msisdn|mobile", re.I)
_ABOUT_SENDER = re.compile(r"sender|from", re.I)
# Plain transactional route: this service sends codes and notices, never marketing.
MESSAGE_TYPE = "TXN"


@dataclass(frozen=True, slots=True)
class KaleyraConfig:
    """What KaleyraProvider reads. `balance_path` may hold {sid}."""

    base_url: str
    sid: str
    api_key: str = field(repr=False)
    balance_path: str = "/v1/{sid}/billing/balance"


class KaleyraProvider:
    name = "kaleyra"

    def __init__(self, config: KaleyraConfig, client: httpx.AsyncClient) -> None:
        self._client = client
        base = config.base_url.rstrip("/")
        self._messages_url = f"{base}/v1/{config.sid}/messages"
        self._balance_url = base + config.balance_path.format(sid=config.sid)
        self._headers = {"api-key": config.api_key, "Accept": "application/json"}

    async def send(self, sms: OutgoingSms) -> SendReceipt:
        form = {"to": sms.receiver, "body": sms.body, "type": MESSAGE_TYPE}
        if sms.sender is not None:
            form["sender"] = sms.sender
        if sms.status_callback:
            form["callback"] = json.dumps({"url": sms.status_callback, "method": "POST"})
        response = await call_provider(
            self._client, self.name, "POST", self._messages_url, data=form, headers=self._headers
        )
        if not response.is_success:
            raise self._error(response)
        body = json_or_empty(response)
        first = _first_entry(body.get("data"))
        sid = provider_id(first.get("message_id") or body.get("id"))
        if sid is None:
            log_unreadable_answer(self.name, response)
            return SendReceipt(sid=None, provider_status="unknown")
        return SendReceipt(sid=sid, provider_status=provider_word(first.get("status") or "accepted"))

    async def balance(self) -> Decimal | None:
        response = await call_provider(self._client, self.name, "GET", self._balance_url, headers=self._headers)
        if not response.is_success:
            raise self._error(response)
        body = json_or_empty(response)
        nested = body.get("data")
        if "balance" not in body and isinstance(nested, (dict, list)):
            body = nested if isinstance(nested, dict) else _first_entry(nested)
        return to_decimal(body.get("balance"))

    def _error(self, response: httpx.Response) -> OTPServiceError:
        status = response.status_code
        code, text, fields = _describe(json_or_empty(response))
        detail = f"HTTP {status}" + (f", {code}" if code else "") + (f": {scrub(text)}" if text else "")
        if status in (401, 403) or _CREDENTIALS.search(text):
            return ProviderCredentialsRefused(
                f"kaleyra refused our credentials (HTTP {status}" + (f", {scrub(code, 32)})" if code else ")")
            )
        if status == 429 or _THROTTLED.search(text):
            return ProviderRateLimited(
                f"kaleyra is throttling requests ({detail})", retry_after=retry_after_seconds(response)
            )
        if status >= 500:
            return ProviderUnavailable(f"kaleyra answered {detail}")
        if status == 402 or _NO_BALANCE.search(text):
            return ProviderInsufficientBalance(f"kaleyra says the balance is insufficient ({detail})")
        if _BLOCKED.search(text):
            return ProviderNumberBlocked(f"kaleyra refused the number: blocked or opted out ({detail})")
        if "to" in fields or (_BAD_NUMBER.search(text) and not _ABOUT_SENDER.search(text)):
            return ProviderInvalidNumber(f"kaleyra says the number is invalid ({detail})")
        if code or text:
            return ProviderRejected(f"kaleyra rejected the message ({detail})")
        return common_error(self.name, response)


def _describe(body: dict[str, Any]) -> tuple[str, str, set[str]]:
    """(code, message, names of the fields blamed) from either error envelope."""
    error = body.get("error")
    source = error if isinstance(error, dict) and error else body
    code = str(source.get("code") or body.get("code") or "")
    message = source.get("message") or body.get("message") or ""
    fields = {key for key in source if key not in ("code", "message")} if source is error else set()
    if fields:
        # A field-keyed envelope: {"error": {"to": "Invalid number"}}.
        message = "; ".join(f"{key}: {source[key]}" for key in sorted(fields)) + (f"; {message}" if message else "")
    return code, str(message), fields


def _first_entry(value: Any) -> dict[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return {}
