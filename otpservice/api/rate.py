"""The global send window as response headers: the one place X-RateLimit-* is written."""

from otpservice.api.routing import RATE_LIMIT_HEADERS
from otpservice.core.rate_window import RateWindow


def rate_headers(window: RateWindow | None) -> dict[str, str]:
    """X-RateLimit-Limit, -Remaining and -Reset of `window`; none without one."""
    if window is None:
        return {}
    limit, remaining, reset = RATE_LIMIT_HEADERS
    return {limit: str(window.limit), remaining: str(window.remaining), reset: str(window.reset_seconds)}
