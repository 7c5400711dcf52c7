"""Prometheus metrics. Domain services call these helpers; /metrics renders the registry."""

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES = Counter("otpservice_messages_total", "SMS send attempts by provider and outcome",
                   ["provider", "outcome"], registry=REGISTRY)
VERIFICATIONS = Counter("otpservice_verifications_total", "Verification lifecycle events",
                        ["event"], registry=REGISTRY)
CHECKS = Counter("otpservice_verification_checks_total", "Verification checks by result",
                 ["result"], registry=REGISTRY)
REFUSALS = Counter("otpservice_limit_refusals_total", "Requests refused by a limit, by reason",
                   ["reason"], registry=REGISTRY)
REQUEST_SECONDS = Histogram("otpservice_request_duration_seconds", "Request latency by route template",
                            ["method", "route", "status"], registry=REGISTRY)


def message_outcome(provider: str, outcome: str) -> None:
    """outcome: sent | failed | queued | refused."""
    MESSAGES.labels(provider=provider, outcome=outcome).inc()


def verification_event(event: str) -> None:
    """event: started | resent | approved | canceled | expired | failed | max_attempts_reached."""
    VERIFICATIONS.labels(event=event).inc()


def check_result(result: str) -> None:
    """result: approved | wrong_code | not_found | max_attempts_reached."""
    CHECKS.labels(result=result).inc()


def limit_refusal(reason: str) -> None:
    REFUSALS.labels(reason=reason).inc()
