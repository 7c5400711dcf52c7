"""api/rate.py: the global window reported by limits/ becomes X-RateLimit-* here, and only here."""

from otpservice.api.rate import rate_headers
from otpservice.core.rate_window import RateWindow


def test_a_window_is_rendered_as_its_three_headers_in_order() -> None:
    headers = rate_headers(RateWindow(limit=100, remaining=7, reset_seconds=42))
    assert list(headers.items()) == [
        ("X-RateLimit-Limit", "100"),
        ("X-RateLimit-Remaining", "7"),
        ("X-RateLimit-Reset", "42"),
    ]


def test_no_window_no_headers() -> None:
    assert rate_headers(None) == {}
