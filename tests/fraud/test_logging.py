"""A breaker's key is a range, not a number: logged in clear, while numbers stay masked."""

import json
import logging

from otpservice.observability.logging import ConsoleFormatter, JsonFormatter


def record(**extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("otpservice.fraud", logging.WARNING, __file__, 1, "breaker decision", None, None)
    entry.__dict__.update(extra)
    return entry


def test_a_clear_field_skips_masking_and_nothing_else_does() -> None:
    line = record(key="+39333123", to="+393331234567", _clear=("key",))
    parsed = json.loads(JsonFormatter(["admin-key-0123456789"]).format(line))
    assert parsed["key"] == "+39333123" and parsed["to"] == "+39******4567"
    console = ConsoleFormatter().format(line)
    assert "key=+39333123" in console and "+393331234567" not in console and console.count("key=") == 1


def test_without_the_mark_a_prefix_would_be_masked() -> None:
    assert json.loads(JsonFormatter().format(record(key="+39333123")))["key"] != "+39333123"
