"""The OTPServiceError tree: what went wrong, in domain terms, with no HTTP in it.

Each class has a stable snake_case `code` (part of the API contract) and a default message.
Which HTTP status each one answers, and the body it is sent as, is api/errors.py's business.
"""

from otpservice.core.rate_window import RateWindow


class OTPServiceError(Exception):
    """A bug: no stack trace or secret is in the answer."""

    code: str = "internal_error"
    default_message: str = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        self.fields = dict(fields or {})  # extra body fields, e.g. a refusal's scope and key


# --- request problems ---------------------------------------------------------
class InvalidRequest(OTPServiceError):
    """Malformed JSON, wrong types, missing or unknown fields, a bad sender or parameter."""

    code, default_message = "invalid_request", "Invalid request"


class InvalidPhoneNumber(OTPServiceError):
    """The number is not in strict international form (`+`, 2 to 15 ASCII digits, the first not 0) or not valid."""

    code, default_message = "invalid_phone_number", "Invalid phone number"


class ChannelUnavailable(InvalidRequest):
    code, default_message = "channel_unavailable", "The configured provider cannot send on this channel"


class InvalidEmail(InvalidRequest):
    code, default_message = "invalid_email", "Invalid email address"


class Unauthorized(OTPServiceError):
    """`API_KEYS` is set and the request has no or a wrong `Authorization: Bearer` key."""

    code, default_message = "unauthorized", "Missing or invalid API key"


class Forbidden(OTPServiceError):
    """A request refused for a reason no more precise code names."""

    code, default_message = "forbidden", "Forbidden"


class SenderNotAllowed(Forbidden):
    """The sender is outside `SMS_ALLOWED_SENDERS`."""

    code, default_message = "sender_not_allowed", "Sender is not in SMS_ALLOWED_SENDERS"


class NumberBlocked(Forbidden):
    """The provider says the number is unsubscribed or barred."""

    code, default_message = "number_blocked", "The number is unsubscribed or barred"


class CountryNotAllowed(Forbidden):
    """The number's country is outside `OTP_ALLOWED_COUNTRIES` (verification) or `SMS_ALLOWED_COUNTRIES` (`/send`)."""

    code, default_message = "country_not_allowed", "Numbers of this country are not allowed"


class NumberTypeNotAllowed(Forbidden):
    """`OTP_MOBILE_ONLY` is on and the number cannot receive SMS (fixed-line-only, premium, VoIP…)."""

    code, default_message = "number_type_not_allowed", "This number cannot receive SMS"


class FactorNotVerified(Forbidden):
    """An authenticator challenge for a factor whose first code was never confirmed."""

    code, default_message = "factor_not_verified", "The factor is not verified yet"


class RecipientOptedOut(Forbidden):
    """The recipient replied STOP to this sender and has not replied START since."""

    code, default_message = "recipient_opted_out", "The recipient opted out of messages (replied STOP)"


class WebhookForbidden(Forbidden):
    """A provider webhook with a wrong or missing signature or token."""

    code, default_message = "invalid_signature", "Webhook signature or token is invalid"


class NotFound(OTPServiceError):
    """An unknown route or resource."""

    code, default_message = "not_found", "Not found"


class VerificationNotFound(NotFound):
    """No pending verification for this number or id (approved, canceled, expired or never started)."""

    code, default_message = "verification_not_found", "No pending verification found"


class MessageNotFound(NotFound):
    """No message with this id (ours, the provider's, or a part's)."""

    code, default_message = "message_not_found", "Message not found"


class EntityNotFound(NotFound):
    """No authenticator factor for this identity."""

    code, default_message = "entity_not_found", "No authenticator factor for this identity"


class FactorNotFound(NotFound):
    """No such authenticator factor."""

    code, default_message = "factor_not_found", "Factor not found"


class ChallengeNotFound(NotFound):
    """No such authenticator challenge."""

    code, default_message = "challenge_not_found", "Challenge not found"


class MethodNotAllowed(OTPServiceError):
    """Another method on a known path."""

    code, default_message = "method_not_allowed", "Method not allowed"


class Conflict(OTPServiceError):
    """The request conflicts with the state of the resource."""

    code, default_message = "conflict", "Conflict"


class IdempotencyInProgress(Conflict):
    """A request with the same `Idempotency-Key` is still running."""

    code, default_message = "idempotency_in_progress", "A request with this Idempotency-Key is still running"


class IdempotencyKeyReused(OTPServiceError):
    """An `Idempotency-Key` used in the last 24 hours with another body or route."""

    code, default_message = (
        "idempotency_key_reused",
        "This Idempotency-Key was used with another request (another body or route) in the last 24 hours",
    )


class PayloadTooLarge(OTPServiceError):
    """A body over 64 KiB."""

    code, default_message = "payload_too_large", "Request body is too large"


class InsufficientBalance(OTPServiceError):
    """A `*_EMPTY_BALANCE_CHECK` is on and the provider's balance is <= 0."""

    code, default_message = "insufficient_balance", "Provider balance is empty"


# --- limits: refused for now, retry later -------------------------------------
class TooManyRequests(OTPServiceError):
    """A limit refused the request; nothing was sent or charged."""

    code, default_message = "rate_limited", "Too many requests"


class RateLimited(TooManyRequests):
    """The global window (`RATE_LIMIT_MAX_REQUESTS` per `RATE_LIMIT_TIME_WINDOW`) is full.

    `window` is its state when it refused.
    """

    code, default_message = "rate_limited", "Rate limit exceeded, retry later"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        window: RateWindow | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, fields=fields)
        self.window = window


class NumberDelayed(TooManyRequests):
    """The number's exponential delay has not passed since its last send."""

    code, default_message = "number_delayed", "Too many messages to this number, retry later"


class NumberCapReached(TooManyRequests):
    """The number's hourly or daily cap (`OTP_MAX_SENDS_PER_NUMBER_*`, `SMS_MAX_PER_NUMBER_*`) is reached."""

    code, default_message = "number_cap_reached", "Send cap for this number reached"


class IpRateLimited(TooManyRequests):
    """The client's per-minute cap on starts and checks (or the admin keys' lockout) is reached."""

    code, default_message = "ip_rate_limited", "Too many requests from this address"


class BudgetExhausted(TooManyRequests):
    """A spend budget (`SMS_BUDGET_*`) is used up; the body adds `scope` and `key`."""

    code, default_message = "budget_exhausted", "The SMS spend budget is used up"


class MaxSendsReached(TooManyRequests):
    """The verification has had its `OTP_MAX_SENDS` sends."""

    code, default_message = "max_sends_reached", "Maximum sends for this verification reached"


class MaxAttemptsReached(TooManyRequests):
    """The verification's `OTP_MAX_CHECK_ATTEMPTS` are spent: its number is locked until it expires."""

    code, default_message = "max_attempts_reached", "Maximum check attempts reached"


class DestinationSuspended(TooManyRequests):
    """The SMS-pumping breaker (or an operator block) covers the number: nothing is sent; the
    body adds `scope` and `key`."""

    code, default_message = "destination_suspended", "SMS to this destination is suspended for now"

    def __init__(self, message: str | None = None, *, scope: str, key: str, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after, fields={"scope": scope, "key": key})
        self.scope, self.key = scope, key


# --- provider problems --------------------------------------------------------
class ProviderError(OTPServiceError):
    """The provider failed: a 5xx answer or another failure.

    `retryable` ones may be queued and retried later.
    """

    code, default_message = "provider_error", "SMS provider error"
    retryable = True
    # True when the request may have reached the provider (a read timeout, a dropped
    # answer): the message may have gone out, so it is never failed over at once.
    may_have_sent = False


class ProviderRateLimited(ProviderError, TooManyRequests):
    """The provider throttled us (its wait, or 1 s)."""

    code, default_message = "provider_rate_limited", "SMS provider is throttling"


class ProviderUnavailable(ProviderError):
    """The provider refused the connection or could not be reached."""

    default_message = "SMS provider unavailable"


class ProviderTimeout(ProviderError):
    """The provider did not answer within `PROVIDER_TIMEOUT`."""

    default_message = "SMS provider timed out"


class ProviderAnswerLost(ProviderTimeout):
    """The request went out and no answer came back (read timeout, dropped connection)."""

    may_have_sent = True


class ProviderCredentialsRefused(ProviderError):
    """The provider refused our credentials ("credentials refused")."""

    default_message = "SMS provider refused our credentials"
    retryable = False


class ProviderRejected(ProviderError):
    """The provider rejected the message for a reason no retry can mend."""

    default_message = "SMS provider rejected the message"
    retryable = False


# The provider's verdicts on the number or the account keep their own code,
# and are still ProviderErrors (recorded as failed, never retried).
class ProviderInvalidNumber(InvalidPhoneNumber, ProviderError):
    """The provider says the number is invalid."""

    default_message = "The provider says the number is invalid"
    retryable = False


class ProviderNumberBlocked(NumberBlocked, ProviderError):
    """The provider says the number is unsubscribed or barred."""

    retryable = False


class ProviderInsufficientBalance(InsufficientBalance, ProviderError):
    """The provider refused the send for an empty balance."""

    retryable = False


class ServiceUnavailable(OTPServiceError):
    """`/-/ready` while the database or the limit storage does not answer."""

    code, default_message = "not_ready", "Service not ready"


class LimitsUnavailable(ServiceUnavailable):
    """The limit storage (Redis) does not answer, or `FRAUD_GUARD=enforce` cannot read the
    breaker state: fail closed, nothing is sent."""

    code, default_message = "limits_unavailable", "Limit storage unavailable, retry later"

    def __init__(self, message: str | None = None, *, retry_after: float | None = 1.0) -> None:
        super().__init__(message, retry_after=retry_after)


class DatabaseUnavailable(ServiceUnavailable):
    """The database refuses or does not answer within `DB_TIMEOUT`: nothing is sent (docs/outages.md)."""

    code, default_message = "database_unavailable", "Database unavailable, retry later"

    def __init__(self, message: str | None = None, *, retry_after: float | None = 1.0) -> None:
        super().__init__(message, retry_after=retry_after)
