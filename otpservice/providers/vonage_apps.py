"""Vonage's application APIs: WhatsApp through the Messages API v1, voice through the Voice
API (an NCCO `talk` action read twice). Both authenticate with a JWT (RS256) signed by the
application's private key (VONAGE_APPLICATION_ID, VONAGE_PRIVATE_KEY).
"""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from otpservice.errors import ProviderError, ProviderInvalidNumber, ProviderRejected
from otpservice.providers.base import (
    OutgoingSms,
    SendReceipt,
    call_provider,
    common_error,
    json_or_empty,
    log_unreadable_answer,
    provider_id,
    scrub,
)

JWT_LIFETIME = 900  # seconds, as Vonage's own SDK signs them
APP_CHANNELS: frozenset[str] = frozenset({"whatsapp", "call"})


@dataclass(frozen=True, slots=True)
class VonageAppConfig:
    api_url: str  # https://api.nexmo.com
    application_id: str
    private_key: str = field(repr=False)  # PEM text
    sender: str  # E.164: the WhatsApp and voice number


class VonageApps:
    name = "vonage"

    def __init__(self, config: VonageAppConfig, client: httpx.AsyncClient) -> None:
        self._config, self._client = config, client
        self._base = config.api_url.rstrip("/")

    def token(self) -> str:
        now = int(time.time())
        claims = {"application_id": self._config.application_id, "iat": now, "exp": now + JWT_LIFETIME}
        return jwt.encode({**claims, "jti": str(uuid.uuid4())}, self._config.private_key, algorithm="RS256")

    async def send(self, sms: OutgoingSms) -> SendReceipt:
        sender = self._config.sender.lstrip("+")
        to = sms.receiver.lstrip("+")
        if sms.channel == "whatsapp":
            body: dict[str, Any] = {
                "to": to,
                "from": sender,
                "channel": "whatsapp",
                "message_type": "text",
                "text": sms.body,
            }
            if sms.client_ref:
                body["client_ref"] = sms.client_ref
            if sms.status_callback:
                body["webhook_url"] = sms.status_callback
            return await self._post("/v1/messages", body, "message_uuid")
        talk = {"action": "talk", "text": sms.body, "language": sms.language or "en-US", "loop": 2}
        call: dict[str, Any] = {
            "to": [{"type": "phone", "number": to}],
            "from": {"type": "phone", "number": sender},
            "ncco": [talk],
        }
        if sms.status_callback:
            call["event_url"] = [sms.status_callback]
        return await self._post("/v1/calls", call, "uuid")

    async def _post(self, path: str, body: dict[str, Any], id_field: str) -> SendReceipt:
        headers = {"Authorization": f"Bearer {self.token()}"}
        response = await call_provider(self._client, self.name, "POST", self._base + path, json=body, headers=headers)
        if not response.is_success:
            raise _error(response)
        answer = json_or_empty(response)
        sid = provider_id(answer.get(id_field))
        if sid is None:
            log_unreadable_answer(self.name, response)
            return SendReceipt(sid=None, provider_status="unknown")
        return SendReceipt(sid=sid, provider_status="accepted" if id_field == "message_uuid" else "started")


def _error(response: httpx.Response) -> ProviderError:
    """Problem details (`title`, `detail`, `invalid_parameters`): a 4xx naming `to` is the number."""
    if response.status_code in (401, 403, 429) or response.status_code >= 500:
        return common_error("vonage", response)
    problem = json_or_empty(response)
    detail = scrub(problem.get("detail") or problem.get("title") or f"HTTP {response.status_code}")
    blamed = [item.get("name") for item in problem.get("invalid_parameters") or [] if isinstance(item, dict)]
    if "to" in blamed:
        return ProviderInvalidNumber(f"vonage says the number is invalid ({detail})")
    return ProviderRejected(f"vonage rejected the message ({detail})")
