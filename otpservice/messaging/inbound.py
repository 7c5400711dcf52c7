"""An inbound SMS (SPEC 22): opt-out keywords applied, the message recorded, forwarded to
INBOUND_WEBHOOK_URL (keywords too), and the confirmation to answer the sender with.

The opt-out is written before the provider's webhook is answered, in the database every
replica reads before a plain send: it holds everywhere from that answer on.
"""

import json
import logging
import uuid
from dataclasses import dataclass

from otpservice.clock import Clock, iso, to_datetime
from otpservice.core.phone import canonical_e164, mask_phone
from otpservice.db.inbound import InboundStore
from otpservice.db.messaging_models import InboundMessage
from otpservice.db.opt_outs import OptOutStore
from otpservice.messaging.app_webhooks import AppWebhookSender
from otpservice.messaging.keywords import START_REPLY, STOP_REPLY, keyword_of

log = logging.getLogger("otpservice.messaging")
MAX_ADDRESS = 32
MAX_BODY = 1600 * 4  # a long concatenated message, with room to spare


@dataclass(frozen=True)
class Incoming:
    provider: str
    sender: str
    receiver: str
    body: str
    provider_sid: str | None = None


def normalize_number(value: str) -> str:
    """E.164 when it reads as a number (Vonage sends digits without +), else as given."""
    value = value.strip()
    candidate = "+" + value if value.isdigit() else value
    return canonical_e164(candidate) or value


class InboundService:
    def __init__(
        self,
        store: InboundStore,
        opt_outs: OptOutStore,
        webhooks: AppWebhookSender,
        clock: Clock,
        *,
        forward_url: str | None,
        help_text: str,
    ) -> None:
        self._store, self._opt_outs, self._webhooks, self._clock = store, opt_outs, webhooks, clock
        self._forward_url, self._help_text = forward_url, help_text

    async def receive(self, incoming: Incoming) -> str | None:
        """The reply to send back (a keyword's confirmation), or None."""
        sender = normalize_number(incoming.sender)[:MAX_ADDRESS]
        receiver = normalize_number(incoming.receiver)[:MAX_ADDRESS]
        body = incoming.body[:MAX_BODY]
        keyword = keyword_of(body)
        now = self._clock.now()
        reply: str | None = None
        if keyword == "stop":
            await self._opt_outs.add(sender, body.strip().upper()[:16], incoming.provider, to_datetime(now))
            reply = STOP_REPLY
        elif keyword == "start":
            await self._opt_outs.remove(sender)
            reply = START_REPLY
        elif keyword == "help" and not await self._opt_outs.contains(sender):
            reply = self._help_text  # an opted-out number gets no answer to HELP, as on Twilio
        message_id = "IM" + uuid.uuid4().hex
        await self._store.add(
            InboundMessage(
                id=message_id,
                provider=incoming.provider,
                provider_sid=incoming.provider_sid[:64] if incoming.provider_sid else None,
                sender=sender,
                receiver=receiver,
                body=body,
                keyword=keyword,
                created_at=to_datetime(now),
            )
        )
        log.info(
            "inbound sms",
            extra={"provider": incoming.provider, "from": mask_phone(sender), "keyword": keyword, "id": message_id},
        )
        if self._forward_url:
            forward = {
                "event": "inbound_message",
                "id": message_id,
                "provider": incoming.provider,
                "providerSid": incoming.provider_sid,
                "from": sender,
                "to": receiver,
                "body": body,
                "keyword": keyword,
                "at": iso(now),
            }
            await self._webhooks.enqueue("inbound", self._forward_url, json.dumps(forward).encode())
        return reply
