"""Structured logs: one JSON object a line (or a readable line), numbers masked, secrets redacted.

Masking and redaction act on the finished line, so they also cover extra fields, nested
values and tracebacks, whatever logger produced them (ours, uvicorn's, SQLAlchemy's).
"""

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote, urlsplit

from otpservice.core.phone import mask_phone

if TYPE_CHECKING:
    from otpservice.settings import Settings

REDACTED = "********"
# Set by the access-log middleware for the duration of a request.
request_id: ContextVar[str | None] = ContextVar("otpservice_request_id", default=None)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}
# E.164-looking numbers; the lookbehind keeps digits inside ids and hex strings alone.
_PHONE = re.compile(r"(?<![\w+])\+\d{6,15}\b")
_SECRET_FIELDS = (
    "otp_secret_key",
    "otp_previous_secret_keys",
    "api_keys",
    "twilio_auth_token",
    "twilio_api_key_secret",
    "kaleyra_api_key",
    "vonage_api_secret",
    "webhook_secret",
    "admin_api_keys",
    "webhook_previous_secrets",
)
# Shorter values would blank out ordinary words; settings this short are no secret anyway.
MIN_SECRET_LENGTH = 4
# aiosqlite and SQLAlchemy print SQL parameters (full numbers) at DEBUG: kept at WARNING.
QUIET_LOGGERS = ("alembic", "httpx", "httpcore", "aiosqlite", "sqlalchemy")


def mask_numbers(text: str) -> str:
    return _PHONE.sub(lambda match: mask_phone(match.group(0)), text)


def secret_values(settings: "Settings") -> list[str]:
    """Every configured secret, plus the passwords inside DATABASE_URL and RATE_LIMIT_STORAGE_URL."""
    values: list[str] = []
    for name in _SECRET_FIELDS:
        value = getattr(settings, name)
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                values.append(item.get_secret_value())
    for url in (settings.database_url, settings.rate_limit_storage_url):
        values += url_passwords(url)
    return values


def url_passwords(url: str) -> list[str]:
    """The password inside a URL, as written and unquoted (none: [])."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return [password, unquote(password)] if password else []


class Redactor:
    """Replaces each secret, raw or as it appears inside a JSON string, by REDACTED."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants = {
            variant
            for secret in secrets
            if len(secret) >= MIN_SECRET_LENGTH
            for variant in (secret, json.dumps(secret)[1:-1])
        }
        ordered = sorted(variants, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern else text


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry = self.entry(record)
        # Fields a record names in `_clear` (a breaker's key: a range, not a number) skip masking.
        clear = {name: entry.pop(name) for name in getattr(record, "_clear", ()) if name in entry}
        line = self.redact(mask_numbers(json.dumps(entry, default=str)))
        if clear:
            line = line[:-1] + ", " + self.redact(json.dumps(clear, default=str)[1:])
        return line

    def entry(self, record: logging.LogRecord) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return entry


class ConsoleFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        data = self.entry(record)
        head = f"{data.pop('time')} {data.pop('level'):<7} {data.pop('message')}"
        data.pop("logger", None)
        trace = data.pop("traceback", None)
        for name in getattr(record, "_clear", ()):
            data.pop(name, None)
        fields = " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v, default=str)}" for k, v in data.items())
        line = head + ("  " + fields if fields else "")
        clear = " ".join(f"{name}={getattr(record, name)}" for name in getattr(record, "_clear", ()))
        line = self.redact(mask_numbers(line)) + (" " + self.redact(clear) if clear else "")
        return line + self.redact(mask_numbers("\n" + trace.rstrip() if trace else ""))


def build_handler(fmt: str = "json", secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if fmt == "json" else ConsoleFormatter(secrets))
    return handler


def configure_logging(level: str = "info", fmt: str = "json", secrets: Iterable[str] = ()) -> None:
    root = logging.getLogger()
    root.handlers[:] = [build_handler(fmt, secrets)]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # alembic narrates every migration; httpx logs each provider URL (some carry credentials).
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Access lines come from our middleware (route template, no query string).
    logging.getLogger("uvicorn.access").disabled = True
