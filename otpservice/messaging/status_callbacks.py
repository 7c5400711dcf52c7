"""Status callbacks to the app (SPEC 22): each status change of a message sent with
`StatusCallback` (Messages.json) or `statusCallback` (/send) is POSTed there in Twilio's form
fields, signed with X-Twilio-Signature keyed by the credential the caller authenticated with.

The send only records where to call (status_callbacks); a background loop watches the
messages' history (message_events, which every path that changes a status writes) and hands
each new state to the app webhook queue (app_webhooks: retries, backoff). So no send waits.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta
from urllib.parse import urlencode

from otpservice.clock import Clock, to_datetime
from otpservice.db.messaging_models import StatusCallback
from otpservice.db.status_callbacks import Change, StatusCallbackStore
from otpservice.messaging.app_webhooks import AppWebhookSender

log = logging.getLogger("otpservice.messaging")

API_VERSION = "2010-04-01"
POLL_SECONDS = 0.5
PURGE_EVERY_SECONDS = 300.0
KEEP = timedelta(days=3)
# Our history states that Twilio's MessageStatus also has (an `ambiguous` outcome is not a state).
TWILIO_STATES = frozenset({"queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled"})


def twilio_sid(message_id: str) -> str:
    return "SM" + message_id[2:]


class StatusCallbacks:
    def __init__(self, store: StatusCallbackStore, webhooks: AppWebhookSender, clock: Clock) -> None:
        self._store, self._webhooks, self._clock = store, webhooks, clock
        self._last_purge = 0.0

    async def watch(self, message_id: str, url: str, credential: str, account_sid: str | None) -> None:
        """`account_sid`: the Messages.json caller's account (None: a native /send)."""
        await self._store.add(
            StatusCallback(
                message_id=message_id,
                url=url,
                account_sid=account_sid or "",
                credential=self._webhooks.credential(credential, url),
                last_event_id=0,
                created_at=to_datetime(self._clock.now()),
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.hand_over()
                if self._clock.now() - self._last_purge > PURGE_EVERY_SECONDS:
                    self._last_purge = self._clock.now()
                    await self._store.purge(to_datetime(self._clock.now()) - KEEP)
            except Exception:  # the database may be down: try again later, never stop
                log.exception("status callbacks: round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)

    async def hand_over(self) -> None:
        by_message: dict[str, list[Change]] = defaultdict(list)
        for change in await self._store.changes():
            by_message[change.message.id].append(change)
        for message_id, changes in by_message.items():
            seen = changes[0].callback.last_event_id
            if not await self._store.advance(message_id, seen, changes[-1].event.id):
                continue  # another process handed these over
            for change in changes:
                if change.event.status in TWILIO_STATES:
                    await self._webhooks.enqueue(
                        "status", change.callback.url, form(change), change.callback.credential
                    )


def form(change: Change) -> bytes:
    callback, message, event = change.callback, change.message, change.event
    compatible = bool(callback.account_sid)
    sid = twilio_sid(message.id) if compatible else (message.provider_sid or message.id)
    fields = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": event.status,
        "SmsStatus": event.status,
        "To": message.receiver,
        "From": message.sender or "",
        "ApiVersion": API_VERSION,
    }
    if compatible:
        fields["AccountSid"] = callback.account_sid
    else:
        fields["MessageId"] = message.id  # ours, as GET /messages/{sid} takes it
    if event.status in ("failed", "undelivered") and event.error_code:
        fields["ErrorCode"] = event.error_code
    return urlencode(fields).encode()
