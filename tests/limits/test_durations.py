import pytest

from otpservice.limits.durations import parse_duration_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("100", 100),
        (100, 100),
        ("500ms", 500),
        ("10s", 10_000),
        ("1 minute", 60_000),
        ("2 minutes", 120_000),
        ("1.5h", 5_400_000),
        ("1d", 86_400_000),
        ("1 MINUTE", 60_000),
        (".5s", 500),
        ("3 weeks", 3 * 604_800_000),
        ("1y", 31_557_600_000),
    ],
)
def test_parses_ms_format(text: str | int, ms: float) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "garbage", "10 parsecs", "1..5s", "s", "1 2 minutes", "☃"])
def test_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_ms(text)
