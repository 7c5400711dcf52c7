"""Structured logs: one JSON object a line (or a readable line), numbers masked."""

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "color_message"}
# Any E.164-looking number that slipped into a message is masked on the way out.
_PHONE = re.compile(r"\+(\d{1,3})(\d{2,10})(\d{4})\b")


def mask_numbers(text: str) -> str:
    return _PHONE.sub(lambda m: "+" + m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self._message(record),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = mask_numbers(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)

    @staticmethod
    def _message(record: logging.LogRecord) -> str:
        message = record.getMessage()
        # The console provider's line is the one place a code may appear, and its
        # number is already masked; every other message is masked here.
        return message if record.name == "otpservice.providers.console" else mask_numbers(message)


class ConsoleFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        data = json.loads(super().format(record))
        head = f"{data.pop('time')} {data.pop('level'):<7} {data.pop('message')}"
        data.pop("logger", None)
        return head + ("  " + " ".join(f"{k}={v}" for k, v in data.items()) if data else "")


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Access lines come from our middleware (route template, no query string).
    logging.getLogger("uvicorn.access").disabled = True
