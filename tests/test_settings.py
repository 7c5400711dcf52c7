"""Start-up validation: a bad value is one line naming the variable."""

import pytest

from otpservice.settings import SettingsError, load_settings


@pytest.mark.parametrize(("overrides", "variable"), [
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
    ({"service_provider": "twilio", "twilio_account_sid": "AC1", "twilio_api_key_sid": "SK1",
      "twilio_api_key_secret": "s", "public_base_url": "https://otp.example.com"}, "TWILIO_AUTH_TOKEN"),
])
def test_a_bad_value_names_its_variable(overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(**overrides)
    assert str(refused.value).startswith(variable + ":")
    assert "\n" not in str(refused.value)


def test_defaults_are_the_reference_services() -> None:
    settings = load_settings()
    assert (settings.service_provider, settings.rate_limit_max_requests, settings.rate_limit_window_ms) == \
        ("console", 100, 60_000)
    assert (settings.exponential_delay_reset_after, settings.port, settings.otp_ttl) == (120, 3000, 600)
