"""The messaging parts (SPEC 22): the stores, the app-webhook sender and the services over them.
messaging_setup.py builds them from Settings; routes reach them as services.messaging."""

import asyncio
from dataclasses import dataclass

from otpservice.db.app_messages import AppMessageStore
from otpservice.db.idempotency import IdempotencyStore
from otpservice.db.opt_outs import OptOutStore
from otpservice.messaging.app_webhooks import AppWebhookSender
from otpservice.messaging.inbound import InboundService
from otpservice.messaging.status_callbacks import StatusCallbacks

# On stop, a delivery in flight gets this long before it is cut (its row stays, leased, for
# the next process): a hanging app never holds a shutdown back.
STOP_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class MessagingParts:
    idempotency: IdempotencyStore  # Idempotency-Key answers
    app_messages: AppMessageStore  # Messages.json sends
    opt_outs: OptOutStore
    inbound: InboundService
    webhooks: AppWebhookSender  # status callbacks and inbound forwards to the app
    status_callbacks: StatusCallbacks

    async def run(self, stop: asyncio.Event) -> None:
        """The background loops: status changes to the webhook queue, the queue to the app."""
        loops = [asyncio.ensure_future(self.webhooks.run(stop)), asyncio.ensure_future(self.status_callbacks.run(stop))]
        try:
            await stop.wait()
            await asyncio.wait(loops, timeout=STOP_GRACE_SECONDS)
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def aclose(self) -> None:
        await self.webhooks.aclose()
