"""Each provider from its own typed config; nothing here reads Settings (provider_setup.py does)."""

import httpx

from otpservice.clock import Clock
from otpservice.providers.base import SmsProvider
from otpservice.providers.console import ConsoleProvider
from otpservice.providers.kaleyra import KaleyraConfig, KaleyraProvider
from otpservice.providers.twilio import TwilioConfig, TwilioProvider
from otpservice.providers.vonage import VonageConfig, VonageProvider

ProviderConfig = TwilioConfig | KaleyraConfig | VonageConfig


def provider_from_config(config: ProviderConfig | None, client: httpx.AsyncClient, clock: Clock) -> SmsProvider:
    """The provider `config` is for; None is the console provider, which needs none."""
    if isinstance(config, TwilioConfig):
        return TwilioProvider(config, client)
    if isinstance(config, KaleyraConfig):
        return KaleyraProvider(config, client)
    if isinstance(config, VonageConfig):
        return VonageProvider(config, client)
    return ConsoleProvider(clock)
