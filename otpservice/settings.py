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

    database_url: str = Field(
        "sqlite+aiosqlite:///./otpservice.db",
        description="Where verifications and messages are stored: `sqlite:///path`, "
        "`postgresql://user:pass@host/db` (or `postgres://`, or the `+aiosqlite` / `+asyncpg` forms; "
        "`?sslmode=` is passed on as asyncpg's `ssl`). The default is relative to the current folder.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Lowest level of the log lines written (case-insensitive)."
    )
    log_format: Literal["json", "console"] = Field(
        "json", description="`json`: one JSON object per line; `console`: lines for humans."
    )

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
    # Every field's description is the configuration table of docs/configuration.md
    # (`python -m otpservice.docs_tables` writes it; a test fails when they differ).
    host: str = Field("127.0.0.1", description="Address `otpservice serve` listens on (`--host` overrides it).")
    port: int = Field(3000, ge=1, le=65535, description="Port `otpservice serve` listens on (`--port` overrides it).")
    db_timeout: float = Field(
        3,
        gt=0,
        le=60,
        description="Seconds any wait on the database may take (connect, pool, statement, SQLite lock); "
        "past it the request answers 503 `database_unavailable` and nothing is sent.",
    )

    service_provider: ProviderName = Field(
        "console",
        description="Who sends the SMS. `console` logs each message (number masked) and keeps the last "
        "100 at `GET /dev/outbox`: development only, refused on a database other than SQLite.",
    )
    sms_default_sender: str | None = Field(
        None,
        description="Sender (E.164 number or alphanumeric id of 1-11 characters) used when a request "
        "names none, and for verification codes.",
    )
    sms_allowed_senders: CommaList = Field(
        [], description="Comma-separated allow-list of senders; others get 403 `sender_not_allowed`. Empty: any."
    )

    rate_limit_max_requests: int = Field(
        100,
        gt=0,
        description="Sends (`/send` and `/verify/start`, all clients together) allowed per "
        "`RATE_LIMIT_TIME_WINDOW`; over it: 429 `rate_limited`.",
    )
    rate_limit_time_window: str = Field(
        "1 minute",
        description="Length of the global window: milliseconds or an ms-format string (`500`, `10s`, "
        "`2 minutes`, `1h`), at most 365 days. Windows are fixed and aligned to the clock.",
    )
    rate_limit_storage_url: str = Field(
        "memory://",
        description="Where every limit, cap and budget is counted: `memory://` (this process) or "
        "`redis://host:port/db` (`rediss://` for TLS), required for replicas and `--workers` > 1.",
    )
    rate_limit_key_prefix: str = Field(
        "otpservice",
        pattern=r"^[A-Za-z0-9:_-]{1,64}$",
        description="Prefix of the limit keys in Redis (1-64 of `A-Za-z0-9:_-`), to share one Redis.",
    )
    exponential_delay_reset_after: float = Field(
        120,
        gt=0,
        description="Seconds a number must be left alone, after its next send became allowed, for its "
        "exponential delay to start again from the beginning.",
    )
    exponential_delay_base: float = Field(
        1, gt=0, description="Seconds a number waits before its 2nd send; the wait doubles at each send after."
    )
    exponential_delay_max: float = Field(
        300, gt=0, le=600, description="Seconds: the longest a number's exponential delay grows."
    )
    provider_timeout: float = Field(
        10,
        gt=0,
        le=120,
        description="Seconds: total timeout of one provider call. A lease on a queued message lasts twice "
        "this; shutdown waits at most this plus 2 s.",
    )
    provider_http_transport: Literal["aiohttp", "httpx"] = Field(
        "aiohttp",
        description="HTTP client of provider calls: aiohttp's transport for httpx (faster under "
        "concurrency), or httpx's own pool.",
    )
    balance_cache_seconds: float = Field(
        5, ge=0, description="Seconds a provider balance read is reused (for the `*_EMPTY_BALANCE_CHECK`s)."
    )

    twilio_account_sid: str | None = Field(None, description="Twilio account SID (`AC…`); required for Twilio.")
    twilio_auth_token: SecretStr | None = Field(
        None,
        description="Twilio auth token: authenticates our calls (unless an API key is set) and checks the "
        "`X-Twilio-Signature` of status callbacks.",
    )
    twilio_api_key_sid: str | None = Field(
        None, description="Twilio API key SID (`SK…`), with `TWILIO_API_KEY_SECRET`: instead of the auth token."
    )
    twilio_api_key_secret: SecretStr | None = Field(None, description="Secret of `TWILIO_API_KEY_SID`.")
    twilio_messaging_service_sid: str | None = Field(
        None, description="Send through this Twilio Messaging Service (`MG…`); then no sender is needed."
    )
    twilio_base_url: str = Field(
        "https://api.twilio.com", description="Twilio API base URL (override for tests or regions)."
    )
    twilio_empty_balance_check: bool = Field(
        False, description="Refuse sends (402 `insufficient_balance`) while the Twilio balance is <= 0."
    )
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

    kaleyra_base_url: str = Field("https://api.kaleyra.io", description="Kaleyra API base URL.")
    kaleyra_api_key: SecretStr | None = Field(None, description="Kaleyra API key; required for Kaleyra.")
    kaleyra_sid: str | None = Field(None, description="Kaleyra account SID (`HXAP…`); required for Kaleyra.")
    kaleyra_balance_path: str = Field(
        "/v1/{sid}/billing/balance",
        description="Path of Kaleyra's balance endpoint, starting with `/`; `{sid}` is replaced.",
    )
    kaleyra_empty_balance_check: bool = Field(
        False, description="Refuse sends (402 `insufficient_balance`) while the Kaleyra balance is <= 0."
    )

    vonage_api_key: str | None = Field(None, description="Vonage API key; required for Vonage.")
    vonage_api_secret: SecretStr | None = Field(None, description="Vonage API secret; required for Vonage.")
    vonage_base_url: str = Field("https://rest.nexmo.com", description="Vonage SMS API base URL (override).")
    vonage_empty_balance_check: bool = Field(
        False, description="Refuse sends (402 `insufficient_balance`) while the Vonage balance is <= 0."
    )
    vonage_application_id: str | None = Field(None, description="Vonage application id: WhatsApp and voice codes")
    vonage_private_key: str | None = Field(
        None, description="Path of the Vonage application's private key (PEM), which signs its JWTs"
    )
    vonage_api_url: str = Field(
        "https://api.nexmo.com", description="Vonage Messages and Voice API base URL (WhatsApp, voice)"
    )

    otp_secret_key: SecretStr | None = Field(
        None,
        description="HMAC key codes are derived from (no code is stored), and the key of queued bodies "
        "and console sessions: `openssl rand -hex 32`, made once and kept. Required, except with "
        "`SERVICE_PROVIDER=console` on SQLite, where one is generated once into `otpservice.secret` "
        "beside the database (mode 0600, with a warning).",
    )
    otp_previous_secret_keys: SecretList = Field(
        [], description="Comma-separated old `OTP_SECRET_KEY`s still accepted: rotation keeps pending codes valid."
    )
    otp_code_length: int = Field(6, ge=4, le=10, description="Digits of a code (under 6 logs a warning).")
    otp_ttl: int = Field(600, ge=1, le=86400, description="Seconds a verification lives after its start.")
    otp_max_check_attempts: int = Field(
        5, ge=1, le=100, description="Checks per verification; the last wrong one ends it `max_attempts_reached`."
    )
    otp_max_sends: int = Field(5, ge=1, le=100, description="Sends per verification; then 429 `max_sends_reached`.")
    otp_max_sends_per_number_hour: int = Field(
        10, gt=0, description="Verification SMS per number per UTC hour; then 429 `number_cap_reached`."
    )
    otp_max_sends_per_number_day: int = Field(
        50, gt=0, description="Verification SMS per number per UTC day; then 429 `number_cap_reached`."
    )
    otp_max_requests_per_ip_minute: int = Field(
        60,
        gt=0,
        description="Verification starts and checks per client per minute (IPv6: per /64); then 429 "
        "`ip_rate_limited`. `/send` never counts.",
    )
    otp_allowed_countries: CommaList = Field(
        [],
        description="Comma-separated ISO 3166 alpha-2 codes (e.g. `IT,FR`; countries with phone numbers) "
        "verifications may go to; "
        "others get 403 `country_not_allowed`. Empty: all.",
    )
    otp_mobile_only: bool = Field(
        True,
        description="Refuse verifications to numbers that cannot receive SMS (fixed-line-only, premium, "
        "shared-cost, VoIP…): 403 `number_type_not_allowed`.",
    )
    otp_app_name: str = Field(
        "otpservice", min_length=1, max_length=40, description="Who the verification message says it is from."
    )
    otp_test_numbers: CommaList = Field(
        [],
        description="`+NUMBER:CODE,…`: numbers that get this fixed code and no SMS (and skip the country "
        "and type checks, not the caps). Refused unless `OTP_TEST_NUMBERS_ALLOWED=true`.",
    )
    otp_test_numbers_allowed: bool = Field(False, description="Must be `true` for `OTP_TEST_NUMBERS` to be taken.")
    otp_retention_days: int = Field(
        30, ge=1, description="Days: `otpservice purge` deletes finished verifications and messages older than this."
    )
    # Authenticator apps (SPEC 21): time steps of clock drift accepted either side of now, for
    # factors that do not set their own (a factor's `skew` / Twilio's Config.Skew wins).
    totp_skew: int = Field(
        1,
        ge=0,
        le=2,
        description="Authenticator codes: 30-second steps of clock drift accepted either side of now, for "
        "factors that set none of their own (docs/totp.md).",
    )

    sms_max_per_number_hour: int = Field(
        0, ge=0, description="`/send` SMS per number per UTC hour (429 `number_cap_reached`); 0: no cap."
    )
    sms_max_per_number_day: int = Field(
        0, ge=0, description="`/send` SMS per number per UTC day (429 `number_cap_reached`); 0: no cap."
    )
    sms_allowed_countries: CommaList = Field(
        [],
        description="Comma-separated ISO alpha-2 codes `/send` may send to; others get 403 "
        "`country_not_allowed`. Empty: all.",
    )
    trusted_proxies: CommaList = Field(
        [],
        description="Comma-separated addresses or CIDRs of proxies whose `X-Forwarded-For` is read to find "
        "the client (the right-most entry that is not a trusted proxy). Empty: the socket's peer.",
    )
    sms_budget_hour: int = Field(
        0, ge=0, description="SMS per UTC hour to all destinations together (429 `budget_exhausted`); 0: none."
    )
    sms_budget_day: int = Field(
        0, ge=0, description="SMS per UTC day to all destinations together (429 `budget_exhausted`); 0: none."
    )
    sms_budget_country_day: int = Field(
        0, ge=0, description="SMS per UTC day to each country alone (429 `budget_exhausted`); 0: none."
    )
    sms_budget_countries: CommaList = Field(
        [], description="Per-country overrides of `SMS_BUDGET_COUNTRY_DAY`, `CC:N,CC:N` (e.g. `GB:2000,IN:500`)."
    )
    alert_webhook_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="Where signed alerts are POSTed (budget threshold and exhaustion, breaker opened); "
        "needs `ALERT_WEBHOOK_SECRET`.",
    )
    alert_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key of the alerts' `X-Otpservice-Signature`."
    )
    # Messaging (SPEC 22): every inbound SMS forwarded, signed, to the app; the HELP answer.
    inbound_webhook_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="Where every inbound SMS (keywords included) is forwarded as signed JSON "
        "(docs/messaging.md); needs `INBOUND_WEBHOOK_SECRET`.",
    )
    inbound_webhook_secret: SecretStr | None = Field(None, description="Key that signs the inbound forwards.")
    opt_out_help_text: str = Field(
        "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
        min_length=1,
        max_length=320,
        description="The answer to an inbound HELP or INFO.",
    )

    api_keys: SecretList = Field(
        [],
        description="Comma-separated keys; every API route then needs `Authorization: Bearer <key>`. "
        "Unset: open, with a warning (refused for a real provider off loopback).",
    )
    allow_unauthenticated: bool = Field(
        False,
        description="Let `serve` run a real provider on a non-loopback address with API_KEYS unset "
        "(an open SMS relay unless something in front authenticates); warned about at every start.",
    )
    # /admin (console, operator routes); unset = those routes answer 404.
    admin_api_keys: SecretList = Field(
        [],
        description="Comma-separated keys of the operator console and the `/admin` routes. Unset: `/admin` "
        "answers 404.",
    )

    sms_rate_limit: float = Field(
        10, gt=0, description="Messages per second handed to the provider (counted in the limit storage)."
    )
    sms_queue_enabled: bool = Field(
        True,
        description="Queue in the outbox (answer 202) what the provider rate holds back or a retry can "
        "mend; off: every failure is answered at once.",
    )
    sms_fallback_provider: ProviderName | None = Field(
        None, description="A second configured provider, tried when the first certainly did not send."
    )
    public_base_url: str | None = Field(
        None,
        description="Our public URL (`https://…`): each send then carries its delivery-receipt callback URL; "
        "without it messages stay `sent`. `https` makes the console cookie `Secure`.",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Token of the Vonage and Kaleyra receipt URLs (`?token=` or `X-Webhook-Token`). Unset: "
        "those webhooks answer 404.",
    )
    docs_enabled: bool = Field(
        True,
        description="Serve `/docs` and leave `/openapi.json` open without a key; `false` removes `/docs` "
        "and puts `/openapi.json` behind `API_KEYS`.",
    )
    console_provider_allowed: bool = Field(
        False, description="Allow the console provider on a database other than SQLite."
    )
    webhook_previous_secrets: SecretList = Field(
        [], description="Comma-separated old `WEBHOOK_SECRET`s still accepted (rotation)."
    )

    # SMS-pumping breaker (SPEC section 10) and the operator routes.
    fraud_guard: Literal["off", "shadow", "enforce"] = Field(
        "shadow",
        description="SMS-pumping breaker: `shadow` decides and logs, never refuses (but operator blocks); "
        "`enforce` refuses (429 `destination_suspended`); `off` does nothing.",
    )
    fraud_prefix_tail_digits: int = Field(
        4, ge=1, le=10, description="Digits cut from the end of a number to make the prefix the breaker counts."
    )
    fraud_window: int = Field(3600, ge=60, le=7 * 86400, description="Seconds of sends the breaker counts.")
    fraud_cooldown: int = Field(
        900,
        ge=1,
        le=12 * 3600,
        description="Seconds an open breaker stays open before its probes; doubles at each re-trip, at most 12 h.",
    )
    fraud_min_settled: int = Field(
        20, ge=1, description="Unverified sends a prefix needs before it can trip (a country: 3 times this)."
    )
    fraud_min_conversion: float = Field(
        0.2, ge=0, le=1, description="Approved / sent under which a prefix or country with its sample trips."
    )
    # SPEC 18: a send counts in its country's sample once approved or this many seconds old.
    fraud_grace: int = Field(
        30, ge=0, le=3600, description="Seconds: a send counts for its country once approved or this old."
    )

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
