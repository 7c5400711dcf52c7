"""The OTPServiceError tree. This is the only module that knows HTTP status codes.

Every error leaves the service as
{"statusCode": int, "error": reason phrase, "message": text, "code": snake_case}.
"""

import math
from http import HTTPStatus


class OTPServiceError(Exception):
    status_code: int = 500
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

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.status_code == 429 or (self.status_code == 503 and self.retry_after is not None):
            seconds = self.retry_after if self.retry_after is not None else 1
            headers["Retry-After"] = str(max(1, math.ceil(seconds)))
        return headers

    def body(self) -> dict[str, object]:
        return {**error_body(self.status_code, self.message, self.code), **self.fields}


def error_body(status_code: int, message: str, code: str) -> dict[str, object]:
    return {
        "statusCode": status_code,
        "error": HTTPStatus(status_code).phrase,
        "message": message,
        "code": code,
    }


# --- request problems (4xx) ---------------------------------------------------
class InvalidRequest(OTPServiceError):
    status_code, code, default_message = 400, "invalid_request", "Invalid request"


class InvalidPhoneNumber(OTPServiceError):
    status_code, code, default_message = 400, "invalid_phone_number", "Invalid phone number"


class Unauthorized(OTPServiceError):
    status_code, code, default_message = 401, "unauthorized", "Missing or invalid API key"


class Forbidden(OTPServiceError):
    status_code, code, default_message = 403, "forbidden", "Forbidden"


class SenderNotAllowed(Forbidden):
    code, default_message = "sender_not_allowed", "Sender is not in SMS_ALLOWED_SENDERS"


class NumberBlocked(Forbidden):
    code, default_message = "number_blocked", "The number is unsubscribed or barred"


class CountryNotAllowed(Forbidden):
    code, default_message = "country_not_allowed", "Numbers of this country are not allowed"


class NumberTypeNotAllowed(Forbidden):
    code, default_message = "number_type_not_allowed", "This number cannot receive SMS"


class WebhookForbidden(Forbidden):
    code, default_message = "invalid_signature", "Webhook signature or token is invalid"


class NotFound(OTPServiceError):
    status_code, code, default_message = 404, "not_found", "Not found"


class VerificationNotFound(NotFound):
    code, default_message = "verification_not_found", "No pending verification found"


class MessageNotFound(NotFound):
    code, default_message = "message_not_found", "Message not found"


class MethodNotAllowed(OTPServiceError):
    status_code, code, default_message = 405, "method_not_allowed", "Method not allowed"


class PayloadTooLarge(OTPServiceError):
    status_code, code, default_message = 413, "payload_too_large", "Request body is too large"


class InsufficientBalance(OTPServiceError):
    status_code, code, default_message = 402, "insufficient_balance", "Provider balance is empty"


# --- limits (429, always with Retry-After) ------------------------------------
class TooManyRequests(OTPServiceError):
    status_code, code, default_message = 429, "rate_limited", "Too many requests"


class RateLimited(TooManyRequests):
    code, default_message = "rate_limited", "Rate limit exceeded, retry later"


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
        super().__init__(message, retry_after=retry_after)
        self.scope, self.key = scope, key

    def body(self) -> dict[str, object]:
        return {**super().body(), "scope": self.scope, "key": self.key}


# --- provider problems ----------------------------------------------------------
class ProviderError(OTPServiceError):
    """The provider failed. `retryable` ones may be queued and retried later."""

    status_code, code, default_message = 502, "provider_error", "SMS provider error"
    retryable = True
    # True when the request may have reached the provider (a read timeout, a dropped
    # answer): the message may have gone out, so it is never failed over at once.
    may_have_sent = False


class ProviderRateLimited(ProviderError, TooManyRequests):
    status_code, code, default_message = 429, "provider_rate_limited", "SMS provider is throttling"


class ProviderUnavailable(ProviderError):
    default_message = "SMS provider unavailable"


class ProviderTimeout(ProviderError):
    status_code, default_message = 504, "SMS provider timed out"


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


# The provider's verdicts on the number or the account keep their own status and code,
# and are still ProviderErrors (recorded as failed, never retried).
class ProviderInvalidNumber(InvalidPhoneNumber, ProviderError):
    default_message = "The provider says the number is invalid"
    retryable = False


class ProviderNumberBlocked(NumberBlocked, ProviderError):
    retryable = False


class ProviderInsufficientBalance(InsufficientBalance, ProviderError):
    retryable = False


class ServiceUnavailable(OTPServiceError):
    status_code, code, default_message = 503, "not_ready", "Service not ready"


class LimitsUnavailable(ServiceUnavailable):
    """The limit storage does not answer: fail closed, send nothing."""

    code, default_message = "limits_unavailable", "Limit storage unavailable, retry later"

    def __init__(self, message: str | None = None, *, retry_after: float | None = 1.0) -> None:
        super().__init__(message, retry_after=retry_after)
