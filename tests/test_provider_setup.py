"""Settings -> each provider's config: the start-up messages, and which credentials are used."""

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from otpservice.clock import FakeClock
from otpservice.provider_setup import balance_check_enabled, build_provider, provider_config
from otpservice.providers.console import ConsoleProvider
from otpservice.providers.kaleyra import KaleyraConfig
from otpservice.providers.twilio import TwilioConfig
from otpservice.settings import Settings, SettingsError


def unchecked(**values: Any) -> Settings:
    """Settings past their own validator, which refuses these gaps first with the same words."""
    return Settings.model_construct(**values)


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("twilio", {"twilio_auth_token": SecretStr("t")}, "TWILIO_ACCOUNT_SID: required when twilio is used"),
        ("twilio", {"twilio_account_sid": "AC1"}, "TWILIO_AUTH_TOKEN: required when twilio is used"),
        (
            "twilio",
            {"twilio_account_sid": "AC1", "twilio_api_key_sid": "SK1"},
            "TWILIO_AUTH_TOKEN: required when twilio is used",
        ),
        ("kaleyra", {"kaleyra_sid": "HX1"}, "KALEYRA_API_KEY: required (with KALEYRA_SID) when kaleyra is used"),
        ("vonage", {"vonage_api_key": "k"}, "VONAGE_API_SECRET: required (with VONAGE_API_KEY) when vonage is used"),
    ],
)
def test_a_missing_credential_is_named(name: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        provider_config(name, unchecked(**values))
    assert str(raised.value) == message


def test_the_twilio_api_key_is_preferred_to_the_auth_token() -> None:
    settings = Settings(
        service_provider="twilio",
        twilio_account_sid="AC1",
        twilio_auth_token="token-1",
        twilio_api_key_sid="SK1",
        twilio_api_key_secret="key-secret-1",
        twilio_messaging_service_sid="MG1",
    )
    config = provider_config("twilio", settings)
    assert isinstance(config, TwilioConfig)
    assert config.login() == ("SK1", "key-secret-1")
    assert (config.base_url, config.messaging_service_sid) == ("https://api.twilio.com", "MG1")


def test_kaleyra_keeps_its_balance_path() -> None:
    settings = Settings(
        service_provider="kaleyra", kaleyra_sid="HX1", kaleyra_api_key="k", kaleyra_balance_path="/v2/{sid}/b"
    )
    assert provider_config("kaleyra", settings) == KaleyraConfig(
        base_url="https://api.kaleyra.io", sid="HX1", api_key="k", balance_path="/v2/{sid}/b"
    )


async def test_the_console_reads_no_config() -> None:
    assert provider_config("console", Settings()) is None
    async with httpx.AsyncClient() as client:
        assert isinstance(build_provider("console", Settings(), client, FakeClock()), ConsoleProvider)


def test_the_empty_balance_check_is_read_per_provider() -> None:
    settings = Settings(vonage_empty_balance_check=True)
    assert balance_check_enabled("vonage", settings) and not balance_check_enabled("twilio", settings)
    assert not balance_check_enabled("console", settings)
