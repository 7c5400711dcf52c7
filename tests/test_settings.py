"""Start-up validation: a bad value is one line naming the variable."""

import pytest

from otpservice.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"rate_limit_max_requests": 0}, "RATE_LIMIT_MAX_REQUESTS"),
        ({"rate_limit_time_window": "soon"}, "RATE_LIMIT_TIME_WINDOW"),
        ({"rate_limit_time_window": "0"}, "RATE_LIMIT_TIME_WINDOW"),
        ({"service_provider": "carrier-pigeon"}, "SERVICE_PROVIDER"),
        ({"service_provider": "vonage"}, "VONAGE_API_KEY"),
        ({"service_provider": "kaleyra", "kaleyra_api_key": "k"}, "KALEYRA_SID"),
        ({"rate_limit_storage_url": "foo://x"}, "RATE_LIMIT_STORAGE_URL"),
        ({"sms_default_sender": "not_valid!!"}, "SMS_DEFAULT_SENDER"),
        ({"otp_test_numbers": "+15005550006:12", "otp_test_numbers_allowed": True}, "OTP_TEST_NUMBERS"),
        ({"otp_test_numbers": "+15005550006:123456"}, "OTP_TEST_NUMBERS"),
        ({"exponential_delay_max": 601}, "EXPONENTIAL_DELAY_MAX"),
        ({"otp_ttl": 86401}, "OTP_TTL"),
        ({"otp_code_length": 3}, "OTP_CODE_LENGTH"),
        ({"otp_allowed_countries": "ITA"}, "OTP_ALLOWED_COUNTRIES"),
        (
            {
                "service_provider": "twilio",
                "twilio_account_sid": "AC1",
                "twilio_api_key_sid": "SK1",
                "twilio_api_key_secret": "s",
                "public_base_url": "https://otp.example.com",
            },
            "TWILIO_AUTH_TOKEN",
        ),
        # Values that were once accepted silently, or ended in a traceback (issue 14).
        ({"sms_rate_limit": "inf"}, "SMS_RATE_LIMIT"),
        ({"sms_rate_limit": "nan"}, "SMS_RATE_LIMIT"),
        ({"exponential_delay_base": "inf"}, "EXPONENTIAL_DELAY_BASE"),
        ({"provider_timeout": "nan"}, "PROVIDER_TIMEOUT"),
        ({"kaleyra_balance_path": "/v1/{nope}/x"}, "KALEYRA_BALANCE_PATH"),
        ({"kaleyra_balance_path": "/v1/{0}/x"}, "KALEYRA_BALANCE_PATH"),
        ({"kaleyra_balance_path": "/v1/{sid"}, "KALEYRA_BALANCE_PATH"),
        ({"otp_allowed_countries": "ZZ"}, "OTP_ALLOWED_COUNTRIES"),
        ({"rate_limit_time_window": "100000000y"}, "RATE_LIMIT_TIME_WINDOW"),
        ({"otp_test_numbers": "+1abc:123456", "otp_test_numbers_allowed": True}, "OTP_TEST_NUMBERS"),
        ({"otp_test_numbers": "+15005550006 :123456", "otp_test_numbers_allowed": True}, "OTP_TEST_NUMBERS"),
        ({"twilio_whatsapp_from": "whatsapp:+14155238886"}, "TWILIO_WHATSAPP_FROM"),
        ({"twilio_voice_from": "ACME"}, "TWILIO_VOICE_FROM"),
        ({"smtp_url": "http://mail.example.com"}, "SMTP_URL"),
        ({"smtp_url": "smtp://mail.example.com:587"}, "EMAIL_FROM"),
        ({"email_from": "not an address"}, "EMAIL_FROM"),
        ({"port": 0}, "PORT"),
        ({"port": 65536}, "PORT"),
        ({"database_url": "foo"}, "DATABASE_URL"),
        ({"database_url": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"database_url": "postgresql://u@h:5432"}, "DATABASE_URL"),
        ({"database_url": "sqlite://"}, "DATABASE_URL"),
        ({"database_url": "postgresql://u@h/db"}, "SERVICE_PROVIDER"),  # console provider on PostgreSQL
    ],
)
def test_a_bad_value_names_its_variable(overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(**overrides)
    assert str(refused.value).startswith(variable + ":")
    assert "\n" not in str(refused.value)


def test_defaults_are_the_reference_services() -> None:
    settings = load_settings()
    assert (settings.service_provider, settings.rate_limit_max_requests, settings.rate_limit_window_ms) == (
        "console",
        100,
        60_000,
    )
    assert (settings.exponential_delay_reset_after, settings.port, settings.otp_ttl) == (120, 3000, 600)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db.example:5432/otp", "postgresql+asyncpg://u:p@db.example:5432/otp"),
        ("postgresql://u:p@db.example/otp", "postgresql+asyncpg://u:p@db.example/otp"),
        ("postgresql+asyncpg://u@h/otp", "postgresql+asyncpg://u@h/otp"),
        ("postgresql://u@h/otp?sslmode=require", "postgresql+asyncpg://u@h/otp?ssl=require"),
        ("sqlite:///./otp.db", "sqlite+aiosqlite:///./otp.db"),
        ("sqlite:////var/lib/otp.db", "sqlite+aiosqlite:////var/lib/otp.db"),
    ],
)
def test_database_urls_as_hosts_hand_them_out_get_the_async_driver(given: str, used: str) -> None:
    settings = load_settings(database_url=given, console_provider_allowed=True)
    assert settings.database_url == used


def test_the_console_provider_runs_on_postgresql_only_when_allowed() -> None:
    settings = load_settings(database_url="postgresql://u@h/otp", console_provider_allowed=True)
    assert settings.service_provider == "console"
    with pytest.raises(SettingsError, match="CONSOLE_PROVIDER_ALLOWED"):
        load_settings(database_url="postgresql://u@h/otp")


def test_allowed_countries_and_test_numbers_that_exist_are_taken() -> None:
    settings = load_settings(
        otp_allowed_countries="it,GB",
        otp_test_numbers="+15005550006:123456",
        otp_test_numbers_allowed=True,
        rate_limit_time_window="365d",
    )
    assert settings.otp_allowed_countries == ["IT", "GB"]
    assert settings.test_numbers == {"+15005550006": "123456"}
