"""Every environment variable of SPEC section 7, validated once at start-up."""

import ipaddress
from functools import cached_property
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from phonenumbers import SUPPORTED_REGIONS
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from otpservice.core.phone import is_strict_e164, is_valid_sender
from otpservice.db.urls import normalize_database_url
from otpservice.limits.durations import parse_duration_ms

ProviderName = Literal["twilio", "kaleyra", "vonage", "console"]
CommaList = Annotated[list[str], NoDecode]
SecretList = Annotated[list[SecretStr], NoDecode]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


MAX_WINDOW_MS = 365 * 24 * 3600 * 1000


class SettingsError(Exception):
    """A bad configuration value; str() is one line naming the variable."""


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class DatabaseSettings(BaseSettings):
    """What `otpservice migrate` reads, and nothing more: no provider, key or limit setting."""

    # allow_inf_nan: SMS_RATE_LIMIT=inf and the like are refused, not taken as "no limit".
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", allow_inf_nan=False)

    database_url: str = "sqlite+aiosqlite:///./otpservice.db"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class Settings(DatabaseSettings):
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=1, le=65535)
    db_timeout: float = Field(3, gt=0, le=60)  # every wait on the database; then 503 database_unavailable

    service_provider: ProviderName = "console"
    sms_default_sender: str | None = None
    sms_allowed_senders: CommaList = []

    rate_limit_max_requests: int = Field(100, gt=0)
    rate_limit_time_window: str = "1 minute"
    rate_limit_storage_url: str = "memory://"
    rate_limit_key_prefix: str = Field("otpservice", pattern=r"^[A-Za-z0-9:_-]{1,64}$")
    exponential_delay_reset_after: float = Field(120, gt=0)
    exponential_delay_base: float = Field(1, gt=0)
    exponential_delay_max: float = Field(300, gt=0, le=600)
    provider_timeout: float = Field(10, gt=0, le=120)
    provider_http_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    balance_cache_seconds: float = Field(5, ge=0)

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_key_sid: str | None = None
    twilio_api_key_secret: SecretStr | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    twilio_empty_balance_check: bool = False
    twilio_whatsapp_from: str | None = Field(
        None, description="E.164 number WhatsApp codes come from on Twilio (the service adds `whatsapp:`)"
    )
    twilio_voice_from: str | None = Field(
        None, description="E.164 number voice calls come from on Twilio (default: SMS_DEFAULT_SENDER if a number)"
    )
    smtp_url: SecretStr | None = Field(
        None,
        description="smtp://[user:password@]host:port (STARTTLS when offered) or smtps:// (implicit TLS)",
    )
    email_from: str | None = Field(None, description="The From address of email codes")
    otp_max_sends_per_email_hour: int = Field(5, ge=0, description="Codes per email address per hour (0: no cap)")
    otp_max_sends_per_email_day: int = Field(20, ge=0, description="Codes per email address per day (0: no cap)")

    kaleyra_base_url: str = "https://api.kaleyra.io"
    kaleyra_api_key: SecretStr | None = None
    kaleyra_sid: str | None = None
    kaleyra_balance_path: str = "/v1/{sid}/billing/balance"
    kaleyra_empty_balance_check: bool = False

    vonage_api_key: str | None = None
    vonage_api_secret: SecretStr | None = None
    vonage_base_url: str = "https://rest.nexmo.com"
    vonage_empty_balance_check: bool = False
    vonage_application_id: str | None = Field(None, description="Vonage application id: WhatsApp and voice codes")
    vonage_private_key: str | None = Field(
        None, description="Path of the Vonage application's private key (PEM), which signs its JWTs"
    )
    vonage_api_url: str = Field(
        "https://api.nexmo.com", description="Vonage Messages and Voice API base URL (WhatsApp, voice)"
    )

    otp_secret_key: SecretStr | None = None
    otp_previous_secret_keys: SecretList = []
    otp_code_length: int = Field(6, ge=4, le=10)
    otp_ttl: int = Field(600, ge=1, le=86400)
    otp_max_check_attempts: int = Field(5, ge=1, le=100)
    otp_max_sends: int = Field(5, ge=1, le=100)
    otp_max_sends_per_number_hour: int = Field(10, gt=0)
    otp_max_sends_per_number_day: int = Field(50, gt=0)
    otp_max_requests_per_ip_minute: int = Field(60, gt=0)
    otp_allowed_countries: CommaList = []
    otp_mobile_only: bool = True
    otp_app_name: str = Field("otpservice", min_length=1, max_length=40)
    otp_test_numbers: CommaList = []
    otp_test_numbers_allowed: bool = False
    otp_retention_days: int = Field(30, ge=1)
    # Authenticator apps (SPEC 21): time steps of clock drift accepted either side of now, for
    # factors that do not set their own (a factor's `skew` / Twilio's Config.Skew wins).
    totp_skew: int = Field(1, ge=0, le=2)

    sms_max_per_number_hour: int = Field(0, ge=0)
    sms_max_per_number_day: int = Field(0, ge=0)
    sms_allowed_countries: CommaList = []
    trusted_proxies: CommaList = []
    sms_budget_hour: int = Field(0, ge=0)
    sms_budget_day: int = Field(0, ge=0)
    sms_budget_country_day: int = Field(0, ge=0)
    sms_budget_countries: CommaList = []
    alert_webhook_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    alert_webhook_secret: SecretStr | None = None
    # Messaging (SPEC 22): every inbound SMS forwarded, signed, to the app; the HELP answer.
    inbound_webhook_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    inbound_webhook_secret: SecretStr | None = None
    opt_out_help_text: str = Field("Reply STOP to unsubscribe. Msg&Data Rates May Apply.", min_length=1, max_length=320)

    api_keys: SecretList = []
    allow_unauthenticated: bool = Field(
        False,
        description="Let `serve` run a real provider on a non-loopback address with API_KEYS unset "
        "(an open SMS relay unless something in front authenticates); warned about at every start.",
    )
    # /admin (console, operator routes); unset = those routes answer 404.
    admin_api_keys: SecretList = []

    sms_rate_limit: float = Field(10, gt=0)
    sms_queue_enabled: bool = True
    sms_fallback_provider: ProviderName | None = None
    public_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    docs_enabled: bool = True
    console_provider_allowed: bool = False
    webhook_previous_secrets: SecretList = []

    # SMS-pumping breaker (SPEC section 10) and the operator routes.
    fraud_guard: Literal["off", "shadow", "enforce"] = "shadow"
    fraud_prefix_tail_digits: int = Field(4, ge=1, le=10)
    fraud_window: int = Field(3600, ge=60, le=7 * 86400)
    fraud_cooldown: int = Field(900, ge=1, le=12 * 3600)
    fraud_min_settled: int = Field(20, ge=1)
    fraud_min_conversion: float = Field(0.2, ge=0, le=1)
    # SPEC 18: a send counts in its country's sample once approved or this many seconds old.
    fraud_grace: int = Field(30, ge=0, le=3600)

    _split = field_validator(
        "sms_allowed_senders",
        "otp_previous_secret_keys",
        "otp_allowed_countries",
        "otp_test_numbers",
        "api_keys",
        "sms_allowed_countries",
        "trusted_proxies",
        "sms_budget_countries",
        "admin_api_keys",
        "webhook_previous_secrets",
        mode="before",
    )(_split_commas)

    @field_validator("fraud_guard", "service_provider", "sms_fallback_provider", mode="before")
    @classmethod
    def _lower_name(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("rate_limit_time_window")
    @classmethod
    def _window(cls, value: str) -> str:
        milliseconds = parse_duration_ms(value)
        if not 0 < milliseconds <= MAX_WINDOW_MS:
            raise ValueError("must be a positive duration of at most 365 days")
        return value

    @field_validator("kaleyra_balance_path")
    @classmethod
    def _balance_path(cls, value: str) -> str:
        try:
            value.format(sid="x")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may contain {sid} and no other placeholder") from None
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _storage_url(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("expected memory:// or redis://host:port/db")
        return value

    @field_validator("twilio_whatsapp_from", "twilio_voice_from")
    @classmethod
    def _channel_number(cls, value: str | None) -> str | None:
        if value is not None and not is_strict_e164(value):
            raise ValueError("must be an E.164 number, e.g. +14155238886")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("smtp://", "smtps://")):
            raise ValueError("expected smtp://[user:password@]host:port or smtps://...")
        return value

    @field_validator("email_from")
    @classmethod
    def _email_from(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError("must be an email address, e.g. codes@example.com") from None

    @field_validator("sms_default_sender")
    @classmethod
    def _default_sender(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_sender(value):
            raise ValueError("must be an E.164 number or an alphanumeric id of 1-11 characters")
        return value

    @field_validator("otp_allowed_countries", "sms_allowed_countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        return [_iso_country(code) for code in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
        return value

    @field_validator("sms_budget_countries")
    @classmethod
    def _budget_countries(cls, value: list[str]) -> list[str]:
        for entry in value:
            code, colon, amount = entry.partition(":")
            if not colon or not amount.isascii() or not amount.isdigit():
                raise ValueError(f"expected CC:N,CC:N (country code, colon, count), e.g. GB:2000,IN:500; got {entry!r}")
            _iso_country(code)
        return value

    @field_validator("otp_test_numbers")
    @classmethod
    def _test_numbers(cls, value: list[str]) -> list[str]:
        for entry in value:
            number, _, code = entry.partition(":")
            if not is_strict_e164(number) or not code.isascii() or not code.isdigit() or not 4 <= len(code) <= 10:
                raise ValueError("expected +NUMBER:CODE[,...] with a code of 4 to 10 digits")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> "Settings":
        used = {name for name in (self.service_provider, self.sms_fallback_provider) if name not in (None, "console")}
        for provider in used:
            for name in _missing_credentials(self, provider):
                raise ValueError(f"{name.upper()}: required when {provider} is used")
        if self.sms_fallback_provider == self.service_provider:
            raise ValueError("SMS_FALLBACK_PROVIDER: must differ from SERVICE_PROVIDER")
        if self.public_base_url and "twilio" in (self.service_provider, self.sms_fallback_provider):
            if not self.twilio_auth_token:
                raise ValueError("TWILIO_AUTH_TOKEN: required to check webhook signatures when PUBLIC_BASE_URL is set")
        if (self.smtp_url is None) != (self.email_from is None):
            raise ValueError("EMAIL_FROM: set with SMTP_URL (email codes need both)")
        if self.alert_webhook_url and not self.alert_webhook_secret:
            raise ValueError("ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set (alerts are signed)")
        if self.inbound_webhook_url and not self.inbound_webhook_secret:
            raise ValueError("INBOUND_WEBHOOK_SECRET: required when INBOUND_WEBHOOK_URL is set (forwards are signed)")
        if self.otp_test_numbers and not self.otp_test_numbers_allowed:
            raise ValueError("OTP_TEST_NUMBERS: refused unless OTP_TEST_NUMBERS_ALLOWED=true")
        uses_console = "console" in (self.service_provider, self.sms_fallback_provider)
        if uses_console and not self.is_sqlite and not self.console_provider_allowed:
            raise ValueError(
                "SERVICE_PROVIDER: the console provider (codes readable at /dev/outbox) runs only on "
                "SQLite; set a real provider, or CONSOLE_PROVIDER_ALLOWED=true"
            )
        return self

    @property
    def rate_limit_window_ms(self) -> float:
        return parse_duration_ms(self.rate_limit_time_window)

    @property
    def test_numbers(self) -> dict[str, str]:
        return dict(entry.split(":", 1) for entry in self.otp_test_numbers)

    @property
    def budget_countries(self) -> dict[str, int]:
        pairs = (entry.split(":", 1) for entry in self.sms_budget_countries)
        return {code.upper(): int(amount) for code, amount in pairs}

    @cached_property
    def trusted_networks(self) -> list[IPNetwork]:
        return [ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies]


def _iso_country(code: str) -> str:
    if len(code) != 2 or not code.isascii() or code.upper() not in SUPPORTED_REGIONS:
        raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 code of a country with phone numbers")
    return code.upper()


def _missing_credentials(settings: Settings, provider: str) -> list[str]:
    if provider == "twilio":
        missing = [] if settings.twilio_account_sid else ["twilio_account_sid"]
        # A half-set API key names its missing half, whether or not an auth token is set.
        if settings.twilio_api_key_sid and not settings.twilio_api_key_secret:
            missing.append("twilio_api_key_secret")
        elif settings.twilio_api_key_secret and not settings.twilio_api_key_sid:
            missing.append("twilio_api_key_sid")
        elif not settings.twilio_auth_token and not settings.twilio_api_key_sid:
            missing.append("twilio_auth_token")
        return missing
    required = {
        "kaleyra": ("kaleyra_api_key", "kaleyra_sid"),
        "vonage": ("vonage_api_key", "vonage_api_secret"),
    }[provider]
    return [name for name in required if not getattr(settings, name)]


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus overrides); raise SettingsError with one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def load_database_settings() -> DatabaseSettings:
    """DATABASE_URL and the log settings alone (`otpservice migrate`)."""
    try:
        return DatabaseSettings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["loc"]:
        return f"{str(error['loc'][0]).upper()}: {message}"
    return message
