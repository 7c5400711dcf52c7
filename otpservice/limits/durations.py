"""ms-format durations ("500", "10s", "2 minutes", "1.5h"), as the reference service reads them."""

import re

_UNIT_MS: dict[str, float] = {}
for _names, _ms in (
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), 1),
    (("s", "sec", "secs", "second", "seconds"), 1000),
    (("m", "min", "mins", "minute", "minutes"), 60_000),
    (("h", "hr", "hrs", "hour", "hours"), 3_600_000),
    (("d", "day", "days"), 86_400_000),
    (("w", "week", "weeks"), 604_800_000),
    (("y", "yr", "yrs", "year", "years"), 31_557_600_000),
):
    for _name in _names:
        _UNIT_MS[_name] = _ms

_PATTERN = re.compile(r"^(?P<value>-?(?:\d+)?\.?\d+) *(?P<unit>[a-z]+)?$", re.IGNORECASE)


def parse_duration_ms(text: str | int | float) -> float:
    """Return milliseconds for a number (taken as ms) or an ms-format string.

    Raises ValueError for anything ms would answer with undefined/NaN.
    """
    if isinstance(text, bool):
        raise ValueError("not a duration")
    if isinstance(text, (int, float)):
        return float(text)
    match = _PATTERN.match(text.strip())
    if not match or len(text) > 100:
        raise ValueError(f"not a duration: {text!r}")
    unit = (match.group("unit") or "ms").lower()
    if unit not in _UNIT_MS:
        raise ValueError(f"unknown unit {unit!r} in {text!r}")
    return float(match.group("value")) * _UNIT_MS[unit]
