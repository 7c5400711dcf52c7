"""Build the configured provider, and the shared HTTP client all providers use."""

import importlib

import httpx

from otpservice.clock import Clock
from otpservice.providers.base import SmsProvider
from otpservice.providers.console import ConsoleProvider
from otpservice.settings import Settings

_MODULES = {"twilio": "TwilioProvider", "kaleyra": "KaleyraProvider", "vonage": "VonageProvider"}


def make_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """One client for the process. The aiohttp transport is several times faster than
    httpx's own pool under concurrency (see bench/)."""
    if transport is None and settings.provider_http_transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport()
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=50)
    # A connection not made within half the budget times out as a connect timeout (nothing
    # sent), before the total PROVIDER_TIMEOUT that means "the request may have gone out".
    timeout = httpx.Timeout(settings.provider_timeout, connect=settings.provider_timeout / 2)
    return httpx.AsyncClient(timeout=timeout, transport=transport, limits=limits)


def build_provider(name: str, settings: Settings, client: httpx.AsyncClient, clock: Clock) -> SmsProvider:
    if name == "console":
        return ConsoleProvider(clock)
    module = importlib.import_module(f"otpservice.providers.{name}")
    provider_class = getattr(module, _MODULES[name])
    provider: SmsProvider = provider_class.from_settings(settings, client)
    return provider


def balance_check_enabled(name: str, settings: Settings) -> bool:
    return bool(getattr(settings, f"{name}_empty_balance_check", False))
