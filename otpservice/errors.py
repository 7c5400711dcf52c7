"""The OTPServiceError tree: what went wrong, in domain terms, with no HTTP in it.

Each class has a stable snake_case `code` (part of the API contract) and a default message.
Which HTTP status each one answers, and the body it is sent as, is api/errors.py's business.
"""

from otpservice.core.rate_window import RateWindow


class OTPServiceError(Exception):
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
    code, default_message = "invalid_request", "Invalid request"


class InvalidPhoneNumber(OTPServiceError):
    code, default_message = "invalid_phone_number", "Invalid phone number"


class ChannelUnavailable(InvalidRequest):
    code, default_message = "channel_unavailable", "The configured provider cannot send on this channel"


class InvalidEmail(InvalidRequest):
    code, default_message = "invalid_email", "Invalid email address"


class Unauthorized(OTPServiceError):
    code, default_message = "unauthorized", "Missing or invalid API key"


class Forbidden(OTPServiceError):
    code, default_message = "forbidden", "Forbidden"


class SenderNotAllowed(Forbidden):
    code, default_message = "sender_not_allowed", "Sender is not in SMS_ALLOWED_SENDERS"


class NumberBlocked(Forbidden):
    code, default_message = "number_blocked", "The number is unsubscribed or barred"


class CountryNotAllowed(Forbidden):
    code, default_message = "country_not_allowed", "Numbers of this country are not allowed"


class NumberTypeNotAllowed(Forbidden):
    code, default_message = "number_type_not_allowed", "This number cannot receive SMS"


class FactorNotVerified(Forbidden):
    code, default_message = "factor_not_verified", "The factor is not verified yet"


class RecipientOptedOut(Forbidden):
    code, default_message = "recipient_opted_out", "The recipient opted out of messages (replied STOP)"


class WebhookForbidden(Forbidden):
    code, default_message = "invalid_signature", "Webhook signature or token is invalid"


class NotFound(OTPServiceError):
    code, default_message = "not_found", "Not found"


class VerificationNotFound(NotFound):
    code, default_message = "verification_not_found", "No pending verification found"


class MessageNotFound(NotFound):
    code, default_message = "message_not_found", "Message not found"


class EntityNotFound(NotFound):
    code, default_message = "entity_not_found", "No authenticator factor for this identity"


class FactorNotFound(NotFound):
    code, default_message = "factor_not_found", "Factor not found"


class ChallengeNotFound(NotFound):
    code, default_message = "challenge_not_found", "Challenge not found"


class MethodNotAllowed(OTPServiceError):
    code, default_message = "method_not_allowed", "Method not allowed"


class Conflict(OTPServiceError):
    code, default_message = "conflict", "Conflict"


class IdempotencyInProgress(Conflict):
    code, default_message = "idempotency_in_progress", "A request with this Idempotency-Key is still running"


class IdempotencyKeyReused(OTPServiceError):
    code, default_message = (
        "idempotency_key_reused",
        "This Idempotency-Key was used with another request (another body or route) in the last 24 hours",
    )


class PayloadTooLarge(OTPServiceError):
    code, default_message = "payload_too_large", "Request body is too large"


class InsufficientBalance(OTPServiceError):
    code, default_message = "insufficient_balance", "Provider balance is empty"


# --- limits: refused for now, retry later -------------------------------------
class TooManyRequests(OTPServiceError):
    code, default_message = "rate_limited", "Too many requests"


class RateLimited(TooManyRequests):
    """The global send window is full; `window` is its state when it refused."""

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
    code, default_message = "number_delayed", "Too many messages to this number, retry later"


class NumberCapReached(TooManyRequests):
    code, default_message = "number_cap_reached", "Send cap for this number reached"


class IpRateLimited(TooManyRequests):
    code, default_message = "ip_rate_limited", "Too many requests from this address"


class BudgetExhausted(TooManyRequests):
    code, default_message = "budget_exhausted", "The SMS spend budget is used up"


class MaxSendsReached(TooManyRequests):
    code, default_message = "max_sends_reached", "Maximum sends for this verification reached"


class MaxAttemptsReached(TooManyRequests):
    code, default_message = "max_attempts_reached", "Maximum check attempts reached"


class DestinationSuspended(TooManyRequests):
    """The SMS-pumping breaker (or an operator block) covers the number: nothing is sent."""

    code, default_message = "destination_suspended", "SMS to this destination is suspended for now"

    def __init__(self, message: str | None = None, *, scope: str, key: str, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after, fields={"scope": scope, "key": key})
        self.scope, self.key = scope, key


# --- provider problems --------------------------------------------------------
class ProviderError(OTPServiceError):
    """The provider failed. `retryable` ones may be queued and retried later."""

    code, default_message = "provider_error", "SMS provider error"
    retryable = True
    # True when the request may have reached the provider (a read timeout, a dropped
    # answer): the message may have gone out, so it is never failed over at once.
    may_have_sent = False


class ProviderRateLimited(ProviderError, TooManyRequests):
    code, default_message = "provider_rate_limited", "SMS provider is throttling"


class ProviderUnavailable(ProviderError):
    default_message = "SMS provider unavailable"


class ProviderTimeout(ProviderError):
    default_message = "SMS provider timed out"


class ProviderAnswerLost(ProviderTimeout):
    """The request went out and no answer came back (read timeout, connection dropped)."""

    may_have_sent = True


class ProviderCredentialsRefused(ProviderError):
    default_message = "SMS provider refused our credentials"
    retryable = False


class ProviderRejected(ProviderError):
    """The provider refused the message for a reason no retry can mend."""

    default_message = "SMS provider rejected the message"
    retryable = False


# The provider's verdicts on the number or the account keep their own code,
# and are still ProviderErrors (recorded as failed, never retried).
class ProviderInvalidNumber(InvalidPhoneNumber, ProviderError):
    default_message = "The provider says the number is invalid"
    retryable = False


class ProviderNumberBlocked(NumberBlocked, ProviderError):
    retryable = False


class ProviderInsufficientBalance(InsufficientBalance, ProviderError):
    retryable = False


class ServiceUnavailable(OTPServiceError):
    code, default_message = "not_ready", "Service not ready"


class LimitsUnavailable(ServiceUnavailable):
    """The limit storage does not answer: fail closed, send nothing."""

    code, default_message = "limits_unavailable", "Limit storage unavailable, retry later"

    def __init__(self, message: str | None = None, *, retry_after: float | None = 1.0) -> None:
        super().__init__(message, retry_after=retry_after)


class DatabaseUnavailable(ServiceUnavailable):
    """The database refuses or does not answer within DB_TIMEOUT: nothing was sent."""

    code, default_message = "database_unavailable", "Database unavailable, retry later"

    def __init__(self, message: str | None = None, *, retry_after: float | None = 1.0) -> None:
        super().__init__(message, retry_after=retry_after)
