"""The services the lifespan builds, reachable from a request."""

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from otpservice.clock import Clock
from otpservice.db.messages import MessageStore
from otpservice.db.services import ServiceStore
from otpservice.delivery.worker import OutboxWorker
from otpservice.fraud.guard import FraudGuard
from otpservice.fraud.operator import BreakerOperator
from otpservice.limits.budget import SendBudget
from otpservice.limits.storage import LimitStorage
from otpservice.messaging.parts import MessagingParts
from otpservice.observability.alerts import AlertSender
from otpservice.providers.base import SmsProvider
from otpservice.providers.health import ProviderHealth
from otpservice.settings import Settings
from otpservice.sms.service import SmsService
from otpservice.totp.challenges import ChallengeService
from otpservice.totp.service import TotpService
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
    messaging: MessagingParts  # SPEC 22: idempotency, Messages.json, opt-outs, inbound, callbacks
    extras: dict[str, Any] = field(default_factory=dict)
    fraud_guard: FraudGuard | None = None
    fraud_operator: BreakerOperator | None = None
    provider_health: ProviderHealth | None = None
    totp: TotpService | None = None  # authenticator apps (SPEC 21)
    totp_challenges: ChallengeService | None = None


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
