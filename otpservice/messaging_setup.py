"""Build the messaging parts (SPEC 22) from Settings (wiring: messaging/ itself reads no Settings)."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.clock import Clock
from otpservice.db.app_messages import AppMessageStore
from otpservice.db.app_webhooks import AppWebhookStore
from otpservice.db.idempotency import IdempotencyStore
from otpservice.db.inbound import InboundStore
from otpservice.db.opt_outs import OptOutStore
from otpservice.db.status_callbacks import StatusCallbackStore
from otpservice.delivery.crypto import BodyCipher
from otpservice.messaging.app_webhooks import AppWebhookSender
from otpservice.messaging.inbound import InboundService
from otpservice.messaging.parts import MessagingParts
from otpservice.messaging.status_callbacks import StatusCallbacks
from otpservice.settings import Settings

WEBHOOK_TIMEOUT_SECONDS = 5.0


def build_messaging(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], dialect: str, clock: Clock, cipher: BodyCipher
) -> MessagingParts:
    opt_outs = OptOutStore(sessions, dialect)
    secret = settings.inbound_webhook_secret.get_secret_value() if settings.inbound_webhook_secret else None
    webhooks = AppWebhookSender(
        AppWebhookStore(sessions),
        httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS),
        clock,
        cipher,
        inbound_secret=secret,
    )
    inbound = InboundService(
        InboundStore(sessions),
        opt_outs,
        webhooks,
        clock,
        forward_url=settings.inbound_webhook_url,
        help_text=settings.opt_out_help_text,
    )
    return MessagingParts(
        idempotency=IdempotencyStore(sessions),
        app_messages=AppMessageStore(sessions),
        opt_outs=opt_outs,
        inbound=inbound,
        webhooks=webhooks,
        status_callbacks=StatusCallbacks(StatusCallbackStore(sessions), webhooks, clock),
    )
