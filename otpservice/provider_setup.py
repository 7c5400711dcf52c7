"""Settings -> each provider's own typed config, and the HTTP client they share (for wiring.py).

providers/ never sees Settings: the start-up checks of a provider's variables live here.
"""

import httpx
from pydantic import SecretStr

from otpservice.clock import Clock
from otpservice.providers.base import SmsProvider
from otpservice.providers.kaleyra import KaleyraConfig
from otpservice.providers.registry import ProviderConfig, provider_from_config
from otpservice.providers.twilio import TwilioConfig
from otpservice.providers.vonage import VonageConfig
from otpservice.settings import Settings, SettingsError


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


def provider_config(name: str, settings: Settings) -> ProviderConfig | None:
    """The config of provider `name` (None for the console, which reads none); raises
    SettingsError naming the variable when a credential is missing."""
    if name == "twilio":
        return twilio_config(settings)
    if name == "kaleyra":
        return kaleyra_config(settings)
    if name == "vonage":
        return vonage_config(settings)
    if name == "console":
        return None
    raise SettingsError(f"SERVICE_PROVIDER: unknown provider {name!r}")


def twilio_config(settings: Settings) -> TwilioConfig:
    if not settings.twilio_account_sid:
        raise SettingsError("TWILIO_ACCOUNT_SID: required when twilio is used")
    has_key = settings.twilio_api_key_sid and settings.twilio_api_key_secret
    if not has_key and not settings.twilio_auth_token:
        raise SettingsError("TWILIO_AUTH_TOKEN: required when twilio is used")
    return TwilioConfig(
        account_sid=settings.twilio_account_sid,
        base_url=settings.twilio_base_url,
        auth_token=_secret(settings.twilio_auth_token),
        api_key_sid=settings.twilio_api_key_sid,
        api_key_secret=_secret(settings.twilio_api_key_secret),
        messaging_service_sid=settings.twilio_messaging_service_sid,
    )


def kaleyra_config(settings: Settings) -> KaleyraConfig:
    if not settings.kaleyra_sid or not settings.kaleyra_api_key:
        raise SettingsError("KALEYRA_API_KEY: required (with KALEYRA_SID) when kaleyra is used")
    return KaleyraConfig(
        base_url=settings.kaleyra_base_url,
        sid=settings.kaleyra_sid,
        api_key=settings.kaleyra_api_key.get_secret_value(),
        balance_path=settings.kaleyra_balance_path,
    )


def vonage_config(settings: Settings) -> VonageConfig:
    if not settings.vonage_api_key or not settings.vonage_api_secret:
        raise SettingsError("VONAGE_API_SECRET: required (with VONAGE_API_KEY) when vonage is used")
    return VonageConfig(
        base_url=settings.vonage_base_url,
        api_key=settings.vonage_api_key,
        api_secret=settings.vonage_api_secret.get_secret_value(),
    )


def build_provider(name: str, settings: Settings, client: httpx.AsyncClient, clock: Clock) -> SmsProvider:
    return provider_from_config(provider_config(name, settings), client, clock)


def balance_check_enabled(name: str, settings: Settings) -> bool:
    """TWILIO_EMPTY_BALANCE_CHECK and the like: read by BalanceGuard, not by the provider."""
    return bool(getattr(settings, f"{name}_empty_balance_check", False))


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
