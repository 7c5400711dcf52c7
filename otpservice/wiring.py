"""Build (and close) everything the service runs on, once per process."""

import asyncio
import contextlib
import logging

import httpx

from otpservice.admin.console import warm_up
from otpservice.api.context import Services
from otpservice.clock import Clock
from otpservice.core.phone import country_of
from otpservice.db.alerts import AlertStore
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.messages import MessageStore
from otpservice.db.migrate import is_at_head, upgrade_to_head
from otpservice.db.models import Message
from otpservice.db.services import ServiceStore
from otpservice.db.totp import TotpStore
from otpservice.db.verifications import VerificationStore
from otpservice.delivery.callbacks import callback_urls
from otpservice.delivery.chain import ProviderChain
from otpservice.delivery.crypto import TOTP_SECRET, BodyCipher
from otpservice.delivery.deliverer import Deliverer
from otpservice.delivery.dispatch import Dispatcher
from otpservice.delivery.policy import RetryPolicy
from otpservice.delivery.throttle import ProviderThrottle
from otpservice.delivery.worker import OutboxWorker
from otpservice.fraud_setup import build_fraud
from otpservice.limits.budget import BudgetRules, SendBudget
from otpservice.limits.delay import DelayPolicy
from otpservice.limits.storage import open_limit_storage
from otpservice.messaging_setup import build_messaging
from otpservice.observability.alerts import AlertSender
from otpservice.observability.budget_alerts import BudgetAlerts
from otpservice.provider_setup import (
    balance_check_enabled,
    build_email_sender,
    build_watched_providers,
    make_http_client,
)
from otpservice.settings import Settings, SettingsError
from otpservice.sms.balance import BalanceGuard
from otpservice.sms.service import SmsService
from otpservice.totp.challenges import ChallengeService
from otpservice.totp.service import TotpRules, TotpService
from otpservice.verify.factory import build_verification_service, check_verification_settings
from otpservice.verify.keys import resolve_secret_keys

log = logging.getLogger("otpservice")

ALERT_TIMEOUT_SECONDS = 5.0


async def prepare_database(settings: Settings) -> None:
    """SQLite: bring the schema to head. PostgreSQL: refuse to start when it is not."""
    if settings.is_sqlite:
        await asyncio.to_thread(upgrade_to_head, settings.database_url)
        return
    engine = make_engine(settings.database_url)
    try:
        at_head = await is_at_head(engine, settings.database_url)
    finally:
        await engine.dispose()
    if not at_head:
        raise SettingsError("DATABASE_URL: schema is not at the latest migration; run `otpservice migrate`")


async def startup_checks(settings: Settings) -> None:
    """Everything that must hold before serving; raises SettingsError with one line."""
    check_verification_settings(settings)
    await prepare_database(settings)


async def build_services(
    settings: Settings, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
) -> Services:
    keys = resolve_secret_keys(settings)
    await prepare_database(settings)
    engine = make_engine(settings.database_url, timeout=settings.db_timeout)
    sessions = make_sessionmaker(engine)
    http = make_http_client(settings, transport)
    storage = open_limit_storage(settings.rate_limit_storage_url, settings.rate_limit_key_prefix)
    providers, provider_health = build_watched_providers(settings, http, clock)
    provider = providers[0]
    messages = MessageStore(sessions)
    fraud_guard, fraud_operator = build_fraud(settings, sessions, engine.dialect.name, clock)
    cipher = BodyCipher([keys.current, *keys.previous])
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    chain = ProviderChain(
        providers, callback_urls(settings.public_base_url, secret), email=build_email_sender(settings)
    )
    throttle = ProviderThrottle(storage.windows, settings.sms_rate_limit) if settings.sms_queue_enabled else None
    retry = RetryPolicy.for_timeout(chain.names, settings.provider_timeout, queue_enabled=settings.sms_queue_enabled)
    deliverer = Deliverer(chain, messages, VerificationStore(sessions), retry, clock)
    dispatcher = Dispatcher(
        deliverer, messages, clock, queue_enabled=settings.sms_queue_enabled, throttle=throttle, cipher=cipher
    )
    alert_http = httpx.AsyncClient(timeout=ALERT_TIMEOUT_SECONDS)
    secret_of_alerts = settings.alert_webhook_secret.get_secret_value() if settings.alert_webhook_secret else None
    alerts = AlertSender(settings.alert_webhook_url, secret_of_alerts, alert_http, clock, AlertStore(sessions))
    budget = SendBudget(
        storage.budget,
        budget_rules(settings),
        clock,
        settings.rate_limit_key_prefix,
        watcher=BudgetAlerts(alerts, clock),
    )

    async def charge_resend(message: Message) -> None:  # an ambiguous re-send reaches the provider again
        await budget.charge_again(country_of(message.receiver))

    worker = OutboxWorker(
        messages,
        deliverer,
        cipher,
        throttle,
        clock,
        queue_enabled=settings.sms_queue_enabled,
        on_sent=fraud_guard.delivered,
        charge_resend=charge_resend,
    )
    fraud_guard.transitions.on_opened = lambda opened: alerts.emit(opened.alert())
    messaging = build_messaging(settings, sessions, engine.dialect.name, clock, cipher)
    balance = BalanceGuard(
        provider, balance_check_enabled(settings.service_provider, settings), settings.balance_cache_seconds, clock
    )
    sms = SmsService(
        dispatcher,
        budget,
        balance,
        default_sender=settings.sms_default_sender,
        allowed_senders=settings.sms_allowed_senders,
        allowed_countries=settings.sms_allowed_countries,
        sender_optional=bool(settings.service_provider == "twilio" and settings.twilio_messaging_service_sid)
        or settings.service_provider == "console",
        opt_outs=messaging.opt_outs,
    )
    verify = build_verification_service(settings, keys, clock, sessions, sms, messages, fraud_guard)
    services = Services(
        settings=settings,
        clock=clock,
        engine=engine,
        http=http,
        limit_storage=storage,
        budget=budget,
        provider=provider,
        messages=messages,
        sms=sms,
        verify=verify,
        worker=worker,
        verify_services=ServiceStore(sessions),
        alerts=alerts,
        messaging=messaging,
        extras={"alert_http": alert_http},
        fraud_guard=fraud_guard,
        fraud_operator=fraud_operator,
        provider_health=provider_health,
    )
    services.extras["breakers"] = fraud_operator  # the console's BreakerControl
    totp_store = TotpStore(sessions)
    services.totp = TotpService(
        totp_store,
        BodyCipher([keys.current, *keys.previous], purpose=TOTP_SECRET),
        clock,
        TotpRules(skew=settings.totp_skew, issuer=settings.otp_app_name),
    )
    services.totp_challenges = ChallengeService(services.totp, totp_store, clock)
    return services


def budget_rules(settings: Settings) -> BudgetRules:
    return BudgetRules(
        global_limit=settings.rate_limit_max_requests,
        global_window=settings.rate_limit_window_ms / 1000,
        delay=DelayPolicy(
            base=settings.exponential_delay_base,
            cap=settings.exponential_delay_max,
            reset_after=settings.exponential_delay_reset_after,
        ),
        otp_per_number_hour=settings.otp_max_sends_per_number_hour,
        otp_per_number_day=settings.otp_max_sends_per_number_day,
        sms_per_number_hour=settings.sms_max_per_number_hour,
        sms_per_number_day=settings.sms_max_per_number_day,
        email_per_address_hour=settings.otp_max_sends_per_email_hour,
        email_per_address_day=settings.otp_max_sends_per_email_day,
        per_client_minute=settings.otp_max_requests_per_ip_minute,
        spend_hour=settings.sms_budget_hour,
        spend_day=settings.sms_budget_day,
        spend_country_day=settings.sms_budget_country_day,
        spend_countries=settings.budget_countries,
    )


async def start_background(services: Services) -> None:
    """The outbox worker runs in every process (claims keep replicas from sending twice);
    with the queue off it only recovers the leases of crashed sends. The alert sender
    delivers this process's alerts; the breaker writes and reads its counts every second."""
    stop_alerts = asyncio.Event()
    services.extras["alerts"] = (
        stop_alerts,
        asyncio.create_task(services.alerts.run(stop_alerts), name="alert-sender"),
    )
    stop_webhooks = asyncio.Event()
    services.extras["app_webhooks"] = (
        stop_webhooks,
        asyncio.create_task(services.messaging.run(stop_webhooks), name="app-webhooks"),
    )
    if services.settings.admin_api_keys:  # the console's history is read before anyone asks for it
        services.extras["console_warm_up"] = asyncio.create_task(warm_up(services), name="console-warm-up")
    if services.fraud_guard is not None:
        stop_breaker = asyncio.Event()
        services.extras["breaker"] = (
            stop_breaker,
            asyncio.create_task(services.fraud_guard.run(stop_breaker), name="breaker-refresh"),
        )
    task = asyncio.create_task(services.worker.run(), name="outbox-worker")
    services.extras["worker"] = (asyncio.get_running_loop(), task)


def request_stop(services: Services) -> None:
    """From a signal handler: the worker finishes the call in flight and starts no other."""
    running = services.extras.get("worker")
    if running is not None:
        loop, _ = running
        loop.call_soon_threadsafe(services.worker.stop)


async def stop_background(services: Services) -> None:
    warming = services.extras.pop("console_warm_up", None)
    if warming is not None:
        warming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warming
    for name in ("alerts", "breaker", "app_webhooks"):
        running_task = services.extras.pop(name, None)
        if running_task is not None:
            running_task[0].set()
            await running_task[1]
    running = services.extras.pop("worker", None)
    if running is not None:
        _, task = running
        services.worker.stop()
        await task


async def close_services(services: Services) -> None:
    if services.fraud_guard is not None:
        await services.fraud_guard.counts.flush()  # the breaker's last second of counts
    await services.http.aclose()
    await services.extras["alert_http"].aclose()
    await services.messaging.aclose()
    await services.limit_storage.close()
    await services.engine.dispose()
