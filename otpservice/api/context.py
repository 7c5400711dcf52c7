"""The services the lifespan builds, reachable from a request."""

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from otpservice.clock import Clock
from otpservice.db.app_messages import AppMessageStore
from otpservice.db.idempotency import IdempotencyStore
from otpservice.db.messages import MessageStore
from otpservice.db.opt_outs import OptOutStore
from otpservice.db.services import ServiceStore
from otpservice.delivery.worker import OutboxWorker
from otpservice.fraud.guard import FraudGuard
from otpservice.fraud.operator import BreakerOperator
from otpservice.limits.budget import SendBudget
from otpservice.limits.storage import LimitStorage
from otpservice.messaging.app_webhooks import AppWebhookSender
from otpservice.messaging.inbound import InboundService
from otpservice.messaging.status_callbacks import StatusCallbacks
from otpservice.observability.alerts import AlertSender
from otpservice.providers.base import SmsProvider
from otpservice.settings import Settings
from otpservice.sms.service import SmsService
from otpservice.verify.service import VerificationService


@dataclass
class Services:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    http: httpx.AsyncClient
    limit_storage: LimitStorage
    budget: SendBudget
    provider: SmsProvider
    messages: MessageStore
    sms: SmsService
    verify: VerificationService
    worker: OutboxWorker
    verify_services: ServiceStore  # the Twilio-compatible API's Services
    alerts: AlertSender
    idempotency: IdempotencyStore  # Idempotency-Key answers (SPEC 22)
    app_messages: AppMessageStore  # Messages.json sends (SPEC 22)
    opt_outs: OptOutStore
    inbound: InboundService
    app_webhooks: AppWebhookSender  # status callbacks and inbound forwards to the app
    status_callbacks: StatusCallbacks
    extras: dict[str, Any] = field(default_factory=dict)
    fraud_guard: FraudGuard | None = None
    fraud_operator: BreakerOperator | None = None


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
