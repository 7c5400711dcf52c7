"""Twilio Programmable Messaging: send one SMS, read the account balance."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import httpx

from otpservice.errors import (
    OTPServiceError,
    ProviderCredentialsRefused,
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
    provider_count,
    provider_id,
    provider_word,
    retry_after_seconds,
    scrub,
    to_decimal,
)

# Twilio error codes (https://www.twilio.com/docs/api/errors) that say the To number is
# wrong: invalid, not a phone number, not a mobile, a type that cannot take SMS.
INVALID_NUMBER_CODES = frozenset({21211, 21217, 21401, 21407, 21421, 21614})
# Unsubscribed (the recipient replied STOP) or blocked by the carrier.
BLOCKED_CODES = frozenset({21610, 30004})
AUTH_FAILED = 20003
TOO_MANY_REQUESTS = 20429


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    """What TwilioProvider reads: the account, and its auth token or an API key (or both)."""

    account_sid: str
    base_url: str
    auth_token: str | None = field(default=None, repr=False)
    api_key_sid: str | None = None
    api_key_secret: str | None = field(default=None, repr=False)
    messaging_service_sid: str | None = None
    whatsapp_from: str | None = None  # E.164; sent as whatsapp:+...
    voice_from: str | None = None  # E.164

    def __post_init__(self) -> None:
        self.login()  # refuses a config without credentials

    def login(self) -> tuple[str, str]:
        """(username, password) for basic auth. An API key, when given, is preferred: it can
        be revoked without touching the account's auth token (which still signs webhooks)."""
        if self.api_key_sid and self.api_key_secret:
            return self.api_key_sid, self.api_key_secret
        if self.auth_token:
            return self.account_sid, self.auth_token
        raise ValueError("twilio needs an auth token or an API key (sid and secret)")


class TwilioProvider:
    name = "twilio"

    def __init__(self, config: TwilioConfig, client: httpx.AsyncClient) -> None:
        self._client = client
        self._account_url = f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}"
        self._auth = httpx.BasicAuth(*config.login())
        self._messaging_service_sid = config.messaging_service_sid
        self._whatsapp_from, self._voice_from = config.whatsapp_from, config.voice_from
        self.channels = frozenset(
            {"sms"} | ({"whatsapp"} if config.whatsapp_from else set()) | ({"call"} if config.voice_from else set())
        )

    async def send(self, sms: OutgoingSms) -> SendReceipt:
        if sms.channel == "call":
            return await self._call(sms)
        if sms.channel == "whatsapp":
            if not self._whatsapp_from:
                raise ProviderRejected("twilio has no TWILIO_WHATSAPP_FROM")
            form = {"To": f"whatsapp:{sms.receiver}", "Body": sms.body, "From": f"whatsapp:{self._whatsapp_from}"}
            return await self._create(sms, "Messages.json", form)
        form = {"To": sms.receiver, "Body": sms.body}
        if sms.sender is not None:
            form["From"] = sms.sender
        elif self._messaging_service_sid:
            form["MessagingServiceSid"] = self._messaging_service_sid
        return await self._create(sms, "Messages.json", form)

    async def _call(self, sms: OutgoingSms) -> SendReceipt:
        """A voice call reading the text twice (the Calls API with inline TwiML)."""
        if not self._voice_from:
            raise ProviderRejected("twilio has no TWILIO_VOICE_FROM")
        language = escape(sms.language or "en-US", {'"': "&quot;"})
        twiml = f'<Response><Say language="{language}" loop="2">{escape(sms.body)}</Say></Response>'
        form = {"To": sms.receiver, "From": self._voice_from, "Twiml": twiml}
        return await self._create(sms, "Calls.json", form)

    async def _create(self, sms: OutgoingSms, resource: str, form: dict[str, str]) -> SendReceipt:
        if sms.status_callback:
            form["StatusCallback"] = sms.status_callback
        response = await call_provider(
            self._client, self.name, "POST", f"{self._account_url}/{resource}", data=form, auth=self._auth
        )
        if not response.is_success:
            raise self._error(response)
        body = json_or_empty(response)
        sid = provider_id(body.get("sid"))
        if sid is None:
            log_unreadable_answer(self.name, response)
            return SendReceipt(sid=None, provider_status="unknown")
        return SendReceipt(
            sid=sid,
            provider_status=provider_word(body.get("status") or "queued"),
            segments=provider_count(body.get("num_segments")),
        )  # "0": not reported

    async def balance(self) -> Decimal | None:
        response = await call_provider(
            self._client, self.name, "GET", f"{self._account_url}/Balance.json", auth=self._auth
        )
        if not response.is_success:
            raise self._error(response)
        return to_decimal(json_or_empty(response).get("balance"))

    def _error(self, response: httpx.Response) -> OTPServiceError:
        body = json_or_empty(response)
        code = _int_or_none(body.get("code"))
        status = response.status_code
        if code in INVALID_NUMBER_CODES:
            return ProviderInvalidNumber(f"twilio says the number is invalid (error {code})")
        if code in BLOCKED_CODES:
            return ProviderNumberBlocked(f"twilio refused the number: unsubscribed or barred (error {code})")
        if code == AUTH_FAILED or status == 401:
            return ProviderCredentialsRefused(f"twilio refused our credentials (error {code or status})")
        if code == TOO_MANY_REQUESTS or status == 429:
            return ProviderRateLimited(
                f"twilio is throttling requests (error {code or status})", retry_after=retry_after_seconds(response)
            )
        if status >= 500:
            return ProviderUnavailable(f"twilio answered HTTP {status}" + (f" (error {code})" if code else ""))
        if code is not None and status != 403:
            return ProviderRejected(f"twilio rejected the message (error {code}: {scrub(body.get('message', ''))})")
        return common_error(self.name, response)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
