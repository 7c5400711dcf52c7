"""api/errors.py: the one table of statuses. Every domain error's status and code are pinned,
nothing below the API reads a status off an error, and none names a response header."""

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request

import otpservice
from otpservice import errors
from otpservice.api.errors import (
    STATUS_BY_ERROR,
    error_body,
    error_json,
    handle_http_error,
    response_headers,
    status_of,
)
from otpservice.core.rate_window import RateWindow
from otpservice.errors import (
    BudgetExhausted,
    DestinationSuspended,
    LimitsUnavailable,
    NumberBlocked,
    OTPServiceError,
    ProviderRateLimited,
    ProviderUnavailable,
    RateLimited,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)

PACKAGE = Path(errors.__file__).parent
DOMAIN = ("verify", "totp", "sms", "delivery", "fraud", "limits", "db", "core")

# The HTTP contract of every error class: (status, code). A new class is added here.
PINNED: dict[str, tuple[int, str]] = {
    "OTPServiceError": (500, "internal_error"),
    "InvalidRequest": (400, "invalid_request"),
    "InvalidPhoneNumber": (400, "invalid_phone_number"),
    "ChannelUnavailable": (400, "channel_unavailable"),
    "InvalidEmail": (400, "invalid_email"),
    "ProviderInvalidNumber": (400, "invalid_phone_number"),
    "Unauthorized": (401, "unauthorized"),
    "InsufficientBalance": (402, "insufficient_balance"),
    "ProviderInsufficientBalance": (402, "insufficient_balance"),
    "Forbidden": (403, "forbidden"),
    "SenderNotAllowed": (403, "sender_not_allowed"),
    "NumberBlocked": (403, "number_blocked"),
    "ProviderNumberBlocked": (403, "number_blocked"),
    "CountryNotAllowed": (403, "country_not_allowed"),
    "NumberTypeNotAllowed": (403, "number_type_not_allowed"),
    "RecipientOptedOut": (403, "recipient_opted_out"),
    "WebhookForbidden": (403, "invalid_signature"),
    "Conflict": (409, "conflict"),
    "IdempotencyInProgress": (409, "idempotency_in_progress"),
    "IdempotencyKeyReused": (422, "idempotency_key_reused"),
    "NotFound": (404, "not_found"),
    "VerificationNotFound": (404, "verification_not_found"),
    "MessageNotFound": (404, "message_not_found"),
    "EntityNotFound": (404, "entity_not_found"),
    "FactorNotFound": (404, "factor_not_found"),
    "ChallengeNotFound": (404, "challenge_not_found"),
    "FactorNotVerified": (403, "factor_not_verified"),
    "MethodNotAllowed": (405, "method_not_allowed"),
    "PayloadTooLarge": (413, "payload_too_large"),
    "TooManyRequests": (429, "rate_limited"),
    "RateLimited": (429, "rate_limited"),
    "NumberDelayed": (429, "number_delayed"),
    "NumberCapReached": (429, "number_cap_reached"),
    "IpRateLimited": (429, "ip_rate_limited"),
    "BudgetExhausted": (429, "budget_exhausted"),
    "MaxSendsReached": (429, "max_sends_reached"),
    "MaxAttemptsReached": (429, "max_attempts_reached"),
    "DestinationSuspended": (429, "destination_suspended"),
    "ProviderRateLimited": (429, "provider_rate_limited"),
    "ProviderError": (502, "provider_error"),
    "ProviderUnavailable": (502, "provider_error"),
    "ProviderCredentialsRefused": (502, "provider_error"),
    "ProviderRejected": (502, "provider_error"),
    "ServiceUnavailable": (503, "not_ready"),
    "LimitsUnavailable": (503, "limits_unavailable"),
    "DatabaseUnavailable": (503, "database_unavailable"),
    "ProviderTimeout": (504, "provider_error"),
    "ProviderAnswerLost": (504, "provider_error"),
}


def error_tree() -> list[type[OTPServiceError]]:
    """OTPServiceError and every subclass the package defines (tests' own left out)."""
    for module in pkgutil.walk_packages(otpservice.__path__, "otpservice."):
        if not module.name.endswith("__main__") and "_alembic" not in module.name:
            importlib.import_module(module.name)
    found: list[type[OTPServiceError]] = [OTPServiceError]
    for cls in found:
        found += [sub for sub in cls.__subclasses__() if sub not in found]
    return [cls for cls in found if cls.__module__.startswith("otpservice.")]


def test_every_error_class_is_pinned_with_its_status_and_code() -> None:
    tree = error_tree()
    assert sorted(cls.__name__ for cls in tree) == sorted(PINNED), "pin the new class's status and code in PINNED"
    for cls in tree:
        assert (status_of(cls), cls.code) == PINNED[cls.__name__], cls


def test_the_table_names_only_domain_errors_and_known_statuses() -> None:
    for cls, status in STATUS_BY_ERROR.items():
        assert cls in error_tree() and 400 <= status <= 599, cls
    assert status_of(ProviderUnavailable("down")) == status_of(ProviderUnavailable) == 502


def test_the_body_is_the_status_reason_message_code_then_the_fields() -> None:
    refusal = DestinationSuspended(scope="prefix", key="393471", retry_after=12.2)
    assert list(error_json(refusal).items()) == [
        ("statusCode", 429),
        ("error", "Too Many Requests"),
        ("message", "SMS to this destination is suspended for now"),
        ("code", "destination_suspended"),
        ("scope", "prefix"),
        ("key", "393471"),
    ]
    budget = BudgetExhausted(retry_after=3, fields={"scope": "country", "key": "GB"})
    assert error_json(budget)["key"] == "GB"
    assert error_body(402, "empty", "insufficient_balance")["error"] == "Payment Required"


@pytest.mark.parametrize(
    ("error", "retry_after"),
    [
        (TooManyRequests(), "1"),  # a 429 always says when
        (ProviderRateLimited(retry_after=0.2), "1"),
        (BudgetExhausted(retry_after=61.1), "62"),
        (LimitsUnavailable(), "1"),
        (LimitsUnavailable(retry_after=None), None),
        (ServiceUnavailable(), None),  # a 503 says when only if it knows
        (ServiceUnavailable(retry_after=4), "4"),
        (NumberBlocked(retry_after=9), None),
        (ProviderUnavailable(retry_after=9), None),
    ],
)
def test_retry_after_on_a_429_and_on_a_503_that_knows(error: OTPServiceError, retry_after: str | None) -> None:
    headers = response_headers(error)
    assert headers.get("Retry-After") == retry_after


def test_an_errors_own_headers_are_kept() -> None:
    error = Unauthorized(headers={"WWW-Authenticate": "Bearer"})
    assert response_headers(error) == {"WWW-Authenticate": "Bearer"}


def test_a_full_global_window_answers_its_rate_headers_then_retry_after() -> None:
    error = RateLimited(retry_after=4.2, window=RateWindow(limit=5, remaining=0, reset_seconds=5))
    assert list(response_headers(error).items()) == [
        ("X-RateLimit-Limit", "5"),
        ("X-RateLimit-Remaining", "0"),
        ("X-RateLimit-Reset", "5"),
        ("Retry-After", "5"),
    ]
    assert response_headers(RateLimited(retry_after=2)) == {"Retry-After": "2"}


async def test_starlettes_own_errors_get_the_same_body() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/nowhere", "headers": []})
    response = await handle_http_error(request, HTTPException(404))
    assert response.status_code == 404
    assert response.body == b'{"statusCode":404,"error":"Not Found","message":"Route not found","code":"not_found"}'


def test_the_domain_tree_knows_no_http() -> None:
    source = (PACKAGE / "errors.py").read_text()
    tree = ast.parse(source)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if "http" in name or "starlette" in name}
    assert "status_code" not in source
    assert not re.findall(r"\b[1-5]\d\d\b", source)
    assert not [cls for cls in error_tree() if hasattr(cls, "status_code")]


def test_the_domain_never_reads_a_status_off_an_error() -> None:
    for package in DOMAIN:
        for path in (PACKAGE / package).rglob("*.py"):
            source = path.read_text()
            assert "status_code" not in source, path
            assert "status_of" not in source and "otpservice.api" not in source, path
    for path in (PACKAGE / "providers").rglob("*.py"):  # they read their HTTP answers' status
        source = path.read_text()
        assert set(re.findall(r"(\w+)\.status_code", source)) <= {"response"}, path
        assert "otpservice.api" not in source, path


def test_only_the_api_names_response_headers() -> None:
    """Below api/ a wait is a retry_after and the global window a RateWindow: X-RateLimit-* and
    Retry-After are written by api/ alone (admin/ is a front end too)."""
    for path in PACKAGE.rglob("*"):
        if not path.is_file() or path.suffix not in {".py", ".html", ".txt"}:
            continue
        layer = path.relative_to(PACKAGE).parts[0]
        if layer in ("api", "admin"):
            continue
        source = path.read_text()
        if layer == "providers":  # they read their upstream's answer, which may say when to retry
            source = source.replace('response.headers.get("Retry-After"', "")
        assert not re.search(r"X-RateLimit|Retry-After", source, re.IGNORECASE), path
