"""Settings -> each provider's own typed config, and the HTTP client they share (for wiring.py).

providers/ never sees Settings: the start-up checks of a provider's variables live here,
and the one balance call that tells whether the provider takes our credentials.
"""

import logging

import httpx
from pydantic import SecretStr

from otpservice.clock import Clock, SystemClock
from otpservice.core.phone import is_strict_e164
from otpservice.providers.base import SmsProvider
from otpservice.providers.health import ProviderHealth, WatchedProvider, ask_balance
from otpservice.providers.kaleyra import KaleyraConfig
from otpservice.providers.registry import ProviderConfig, provider_from_config
from otpservice.providers.smtp import SmtpConfig, SmtpProvider
from otpservice.providers.twilio import TwilioConfig
from otpservice.providers.vonage import VonageConfig
from otpservice.providers.vonage_apps import VonageAppConfig
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
        whatsapp_from=settings.twilio_whatsapp_from,
        voice_from=settings.twilio_voice_from or _number_or_none(settings.sms_default_sender),
    )


def kaleyra_config(settings: Settings) -> KaleyraConfig:
    if not settings.kaleyra_sid:
        raise SettingsError("KALEYRA_SID: required (with KALEYRA_API_KEY) when kaleyra is used")
    if not settings.kaleyra_api_key:
        raise SettingsError("KALEYRA_API_KEY: required (with KALEYRA_SID) when kaleyra is used")
    return KaleyraConfig(
        base_url=settings.kaleyra_base_url,
        sid=settings.kaleyra_sid,
        api_key=settings.kaleyra_api_key.get_secret_value(),
        balance_path=settings.kaleyra_balance_path,
    )


def vonage_config(settings: Settings) -> VonageConfig:
    if not settings.vonage_api_key:
        raise SettingsError("VONAGE_API_KEY: required (with VONAGE_API_SECRET) when vonage is used")
    if not settings.vonage_api_secret:
        raise SettingsError("VONAGE_API_SECRET: required (with VONAGE_API_KEY) when vonage is used")
    return VonageConfig(
        base_url=settings.vonage_base_url,
        api_key=settings.vonage_api_key,
        api_secret=settings.vonage_api_secret.get_secret_value(),
        apps=vonage_apps(settings),
    )


def vonage_apps(settings: Settings) -> VonageAppConfig | None:
    """WhatsApp and voice on Vonage: an application id, its private key (a PEM file) and a
    number (SMS_DEFAULT_SENDER when it is one); else those channels are unavailable."""
    if not settings.vonage_application_id and not settings.vonage_private_key:
        return None
    if not settings.vonage_application_id or not settings.vonage_private_key:
        raise SettingsError("VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY: set both (or neither)")
    try:
        with open(settings.vonage_private_key, encoding="ascii") as pem:
            key = pem.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"VONAGE_PRIVATE_KEY: cannot read the PEM file ({type(exc).__name__})") from None
    if "PRIVATE KEY-----" not in key:
        raise SettingsError("VONAGE_PRIVATE_KEY: not a PEM private key")
    sender = _number_or_none(settings.sms_default_sender)
    if sender is None:
        return None
    return VonageAppConfig(
        api_url=settings.vonage_api_url, application_id=settings.vonage_application_id, private_key=key, sender=sender
    )


def build_provider(name: str, settings: Settings, client: httpx.AsyncClient, clock: Clock) -> SmsProvider:
    return provider_from_config(provider_config(name, settings), client, clock)


def used_providers(settings: Settings) -> list[str]:
    """SERVICE_PROVIDER, then SMS_FALLBACK_PROVIDER when set."""
    return [name for name in (settings.service_provider, settings.sms_fallback_provider) if name]


def build_watched_providers(
    settings: Settings, client: httpx.AsyncClient, clock: Clock
) -> tuple[list[SmsProvider], ProviderHealth]:
    """The chain's providers, each real one reporting its answers to the ProviderHealth (/-/ready)."""
    built = [build_provider(name, settings, client, clock) for name in used_providers(settings)]
    health = ProviderHealth(built, clock)
    watched = [provider if provider.name == "console" else WatchedProvider(provider, health) for provider in built]
    return watched, health


def build_email_sender(settings: Settings) -> SmtpProvider | None:
    """The SMTP sender of email codes, when SMTP_URL and EMAIL_FROM are set."""
    if settings.smtp_url is None or not settings.email_from:
        return None
    url = settings.smtp_url.get_secret_value()
    return SmtpProvider(SmtpConfig.from_url(url, settings.email_from, timeout=settings.provider_timeout))


def check_senders(settings: Settings) -> None:
    """A provider that needs a sender has one: Twilio a default sender or a Messaging Service,
    Vonage and Kaleyra a default sender. Else every start would fail at the provider."""
    if settings.sms_default_sender:
        return
    for name in used_providers(settings):
        if name == "twilio" and not settings.twilio_messaging_service_sid:
            raise SettingsError(
                "SMS_DEFAULT_SENDER: required when twilio is used without TWILIO_MESSAGING_SERVICE_SID "
                "(set one of them)"
            )
        if name in ("vonage", "kaleyra"):
            raise SettingsError(f"SMS_DEFAULT_SENDER: required when {name} is used")


CREDENTIAL_VARIABLES = {
    "twilio": "TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SID/TWILIO_API_KEY_SECRET",
    "kaleyra": "KALEYRA_SID/KALEYRA_API_KEY",
    "vonage": "VONAGE_API_KEY/VONAGE_API_SECRET",
}


async def check_credentials(settings: Settings) -> list[str]:
    """One balance call to each real provider. Refused credentials raise SettingsError naming the
    variables and the provider's own error; any other failure is returned as a warning line."""
    warnings: list[str] = []
    async with make_http_client(settings) as client:
        for name in used_providers(settings):
            if name == "console":
                continue
            answer = await ask_balance(build_provider(name, settings, client, SystemClock()))
            if answer.status == "refused":
                raise SettingsError(f"{CREDENTIAL_VARIABLES[name]}: refused by {name}: {answer.detail}")
            if answer.status == "unknown":
                warnings.append(f"{name}: could not confirm the credentials ({answer.detail}); sends will tell")
    return warnings


def log_warnings(lines: list[str]) -> None:
    for line in lines:
        logging.getLogger("otpservice").warning(line)


def balance_check_enabled(name: str, settings: Settings) -> bool:
    """TWILIO_EMPTY_BALANCE_CHECK and the like: read by BalanceGuard, not by the provider."""
    return bool(getattr(settings, f"{name}_empty_balance_check", False))


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _number_or_none(sender: str | None) -> str | None:
    """SMS_DEFAULT_SENDER when it is a number (a call cannot come from an alphanumeric id)."""
    return sender if sender is not None and is_strict_e164(sender) else None
