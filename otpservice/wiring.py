"""Build (and close) everything the service runs on, once per process."""

import asyncio
import logging

import httpx

from otpservice.api.context import Services
from otpservice.clock import Clock
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.messages import MessageStore
from otpservice.db.migrate import is_at_head, upgrade_to_head
from otpservice.errors import RateLimited
from otpservice.limits.delay import DelayPolicy, ExponentialDelay
from otpservice.limits.storage import open_limit_storage
from otpservice.limits.window import WindowLimit
from otpservice.providers.registry import balance_check_enabled, build_provider, make_http_client
from otpservice.settings import Settings, SettingsError
from otpservice.sms.balance import BalanceGuard
from otpservice.sms.service import SmsService
from otpservice.fraud.factory import build_fraud
from otpservice.verify.factory import build_verification_service, check_verification_settings
from otpservice.verify.keys import resolve_secret_keys
from otpservice.delivery.callbacks import callback_urls
from otpservice.delivery.chain import ProviderChain
from otpservice.delivery.crypto import BodyCipher
from otpservice.delivery.dispatch import Dispatcher
from otpservice.delivery.throttle import ProviderThrottle
from otpservice.delivery.worker import OutboxWorker, RetryPolicy

log = logging.getLogger("otpservice")


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


async def build_services(settings: Settings, clock: Clock,
                         transport: httpx.AsyncBaseTransport | None = None) -> Services:
    keys = resolve_secret_keys(settings)
    await prepare_database(settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    http = make_http_client(settings, transport)
    storage = open_limit_storage(settings.rate_limit_storage_url, settings.rate_limit_key_prefix)
    provider = build_provider(settings.service_provider, settings, http, clock)
    providers = [provider]
    if settings.sms_fallback_provider:
        providers.append(build_provider(settings.sms_fallback_provider, settings, http, clock))
    messages = MessageStore(sessions)
    fraud_guard, fraud_operator = build_fraud(settings, sessions, engine.dialect.name, clock)
    cipher = BodyCipher([keys.current, *keys.previous])
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    chain = ProviderChain(providers, callback_urls(settings.public_base_url, secret))
    throttle = ProviderThrottle(storage.windows, settings.sms_rate_limit) if settings.sms_queue_enabled else None
    retry = RetryPolicy(lease_seconds=max(60.0, settings.provider_timeout * len(providers) * 3))
    dispatcher = Dispatcher(chain, messages, clock, queue_enabled=settings.sms_queue_enabled,
                            throttle=throttle, cipher=cipher, lease_seconds=retry.lease_seconds)
    worker = OutboxWorker(messages, chain, cipher, throttle, clock, retry, on_sent=fraud_guard.delivered)
    delay = ExponentialDelay(storage.delays, DelayPolicy(
        base=settings.exponential_delay_base, cap=settings.exponential_delay_max,
        reset_after=settings.exponential_delay_reset_after), clock)
    balance = BalanceGuard(provider, balance_check_enabled(settings.service_provider, settings),
                           settings.balance_cache_seconds, clock)
    sms = SmsService(dispatcher, delay, balance,
                     default_sender=settings.sms_default_sender,
                     allowed_senders=settings.sms_allowed_senders,
                     sender_optional=bool(settings.service_provider == "twilio"
                                          and settings.twilio_messaging_service_sid)
                     or settings.service_provider == "console")
    global_limit = WindowLimit(storage.windows, "global", settings.rate_limit_max_requests,
                               settings.rate_limit_window_ms / 1000, RateLimited)
    verify = build_verification_service(settings, keys, clock, sessions, storage.windows, sms, messages,
                                        fraud_guard)
    return Services(settings=settings, clock=clock, engine=engine, http=http, limit_storage=storage,
                    global_limit=global_limit, provider=provider, messages=messages, sms=sms, verify=verify,
                    worker=worker, fraud_guard=fraud_guard, fraud_operator=fraud_operator)


async def start_background(services: Services) -> None:
    """The outbox worker runs in every process; claims keep replicas from sending twice."""
    if services.settings.sms_queue_enabled:
        stop = asyncio.Event()
        task = asyncio.create_task(services.worker.run(stop), name="outbox-worker")
        services.extras["worker"] = (stop, task)


async def stop_background(services: Services) -> None:
    running = services.extras.pop("worker", None)
    if running is not None:
        stop, task = running
        stop.set()
        await task


async def close_services(services: Services) -> None:
    if services.fraud_guard is not None:
        await services.fraud_guard.counts.flush()  # the breaker's last second of counts
    await services.http.aclose()
    await services.limit_storage.close()
    await services.engine.dispose()
