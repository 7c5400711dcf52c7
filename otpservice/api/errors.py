"""Domain errors over HTTP: the one table of their statuses, the error body, and the handlers
that app.py installs. errors.py knows no HTTP; /openapi.json reads its statuses from here.

Every error of the native API leaves the service as
{"statusCode": int, "error": reason phrase, "message": text, "code": snake_case}.
"""

import logging
import math
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from otpservice.api.rate import rate_headers
from otpservice.api.routing import route_template
from otpservice.errors import (
    ChannelUnavailable,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientBalance,
    InvalidEmail,
    InvalidPhoneNumber,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    OTPServiceError,
    PayloadTooLarge,
    ProviderError,
    ProviderInsufficientBalance,
    ProviderInvalidNumber,
    ProviderNumberBlocked,
    ProviderRateLimited,
    ProviderTimeout,
    RateLimited,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from otpservice.observability import metrics

log = logging.getLogger("otpservice")

# A class without an entry answers the status of its nearest ancestor (in MRO order) that has one.
STATUS_BY_ERROR: dict[type[OTPServiceError], int] = {
    OTPServiceError: 500,
    InvalidRequest: 400,
    InvalidPhoneNumber: 400,
    ChannelUnavailable: 400,
    InvalidEmail: 400,
    Unauthorized: 401,
    InsufficientBalance: 402,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    PayloadTooLarge: 413,
    IdempotencyKeyReused: 422,
    TooManyRequests: 429,
    ProviderError: 502,
    ServiceUnavailable: 503,
    ProviderTimeout: 504,
    # Provider errors that are also another kind: named here so that the order of their
    # bases does not decide (ProviderRateLimited's MRO meets ProviderError first).
    ProviderRateLimited: 429,
    ProviderInvalidNumber: 400,
    ProviderNumberBlocked: 403,
    ProviderInsufficientBalance: 402,
}

# What Starlette's own HTTPExceptions (unknown route, wrong method, bad body) become.
HTTP_EXCEPTION_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def status_of(error: OTPServiceError | type[OTPServiceError]) -> int:
    kind = error if isinstance(error, type) else type(error)
    for ancestor in kind.__mro__:
        if issubclass(ancestor, OTPServiceError) and ancestor in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[ancestor]
    return STATUS_BY_ERROR[OTPServiceError]  # not reached: OTPServiceError is in every MRO


def error_body(status: int, message: str, code: str) -> dict[str, object]:
    return {"statusCode": status, "error": HTTPStatus(status).phrase, "message": message, "code": code}


def error_json(error: OTPServiceError) -> dict[str, object]:
    """The body `error` is answered with: error_body plus its fields (a refusal's scope and key)."""
    return {**error_body(status_of(error), error.message, error.code), **error.fields}


def response_headers(error: OTPServiceError) -> dict[str, str]:
    """A global-window refusal's X-RateLimit-*, the error's own headers, plus Retry-After on a
    429 (1 s if unknown) or a 503 that has one."""
    headers = rate_headers(error.window) if isinstance(error, RateLimited) else {}
    headers.update(error.headers)
    status = status_of(error)
    if status == 429 or (status == 503 and error.retry_after is not None):
        seconds = error.retry_after if error.retry_after is not None else 1
        headers["Retry-After"] = str(max(1, math.ceil(seconds)))
    return headers


async def handle_service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OTPServiceError)
    status = status_of(exc)
    if status == 429:
        metrics.limit_refusal(exc.code)
    return JSONResponse(error_json(exc), status_code=status, headers=response_headers(exc))


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = HTTP_EXCEPTION_CODES.get(status, "invalid_request" if status < 500 else "internal_error")
    message = {404: "Route not found", 405: "Method not allowed"}.get(status, str(exc.detail))
    return JSONResponse(error_body(status, message, code), status_code=status, headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Only what escapes AccessLog (which answers the app's own errors) gets here."""
    log.error("unhandled error", exc_info=exc, extra={"route": route_template(request.scope)})
    return JSONResponse(error_body(500, "Internal server error", "internal_error"), status_code=500)


EXCEPTION_HANDLERS = {
    OTPServiceError: handle_service_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}
