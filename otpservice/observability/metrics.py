"""Prometheus metrics. Domain services call these helpers; /metrics renders the registry."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES = Counter(
    "otpservice_messages_total", "SMS send attempts by provider and outcome", ["provider", "outcome"], registry=REGISTRY
)
VERIFICATIONS = Counter("otpservice_verifications_total", "Verification lifecycle events", ["event"], registry=REGISTRY)
CHECKS = Counter("otpservice_verification_checks_total", "Verification checks by result", ["result"], registry=REGISTRY)
REFUSALS = Counter(
    "otpservice_limit_refusals_total", "Requests refused by a limit, by reason", ["reason"], registry=REGISTRY
)
REQUEST_SECONDS = Histogram(
    "otpservice_request_duration_seconds",
    "Request latency by route template",
    ["method", "route", "status"],
    registry=REGISTRY,
)


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


TOTP_ENROLMENTS = Counter(
    "otpservice_totp_enrolments_total", "Authenticator factor lifecycle events", ["event"], registry=REGISTRY
)
TOTP_CHECKS = Counter(
    "otpservice_totp_checks_total", "Authenticator code checks by result", ["result"], registry=REGISTRY
)


def totp_enrolment(event: str) -> None:
    """event: created | verified | deleted | recovery_codes."""
    TOTP_ENROLMENTS.labels(event=event).inc()


def totp_check(result: str) -> None:
    """result: approved | wrong_code | replayed | locked | recovery_code | recovery_denied."""
    TOTP_CHECKS.labels(result=result).inc()


BUDGET_USED = Gauge(
    "otpservice_budget_used",
    "SMS handed to a provider in the current budget window",
    ["scope", "key", "window"],
    registry=REGISTRY,
)
BUDGET_LIMIT = Gauge(
    "otpservice_budget_limit", "Spend budget per window (SMS_BUDGET_*)", ["scope", "key", "window"], registry=REGISTRY
)
ALERTS = Counter("otpservice_alerts_total", "Alerts raised, by event", ["event"], registry=REGISTRY)
ALERT_DELIVERIES = Counter(
    "otpservice_alert_deliveries_total", "Alert webhook attempts, by result", ["result"], registry=REGISTRY
)


def budget_use(scope: str, key: str, window: str, used: int, limit: int) -> None:
    """key: `*` or an ISO country code (never a number)."""
    BUDGET_USED.labels(scope=scope, key=key, window=window).set(used)
    BUDGET_LIMIT.labels(scope=scope, key=key, window=window).set(limit)


def alert_emitted(event: str) -> None:
    ALERTS.labels(event=event).inc()


def alert_delivery(result: str) -> None:
    """result: delivered | retried | given_up."""
    ALERT_DELIVERIES.labels(result=result).inc()


# --- SMS-pumping breaker (fraud/): labels are a country (ISO code), a scope, a decision,
# never a number or a prefix.
FRAUD_STARTS = Counter(
    "otpservice_fraud_starts_total",
    "Verification starts seen by the breaker",
    ["country", "decision"],
    registry=REGISTRY,
)
FRAUD_SENDS = Counter(
    "otpservice_fraud_sends_total",
    "Verifications whose first SMS the provider accepted",
    ["country"],
    registry=REGISTRY,
)
FRAUD_APPROVALS = Counter(
    "otpservice_fraud_approvals_total", "Counted verifications approved", ["country"], registry=REGISTRY
)
FRAUD_REFUSALS = Counter(
    "otpservice_fraud_refusals_total",
    "Starts refused (or, in shadow, that would be)",
    ["country", "scope", "decision"],
    registry=REGISTRY,
)
FRAUD_OPEN = Gauge(
    "otpservice_fraud_breakers_open", "Breakers open, half-open or blocked", ["scope"], registry=REGISTRY
)
FRAUD_TRANSITIONS = Counter(
    "otpservice_fraud_transitions_total",
    "Breaker state changes",
    ["scope", "from_state", "to_state"],
    registry=REGISTRY,
)


def fraud_start(country: str, decision: str) -> None:
    """decision: pass | probe | exempt | allowed | refuse | would_refuse | unavailable."""
    FRAUD_STARTS.labels(country=country, decision=decision).inc()


def fraud_sent(country: str) -> None:
    FRAUD_SENDS.labels(country=country).inc()


def fraud_approved(country: str) -> None:
    FRAUD_APPROVALS.labels(country=country).inc()


def fraud_refusal(country: str, scope: str, decision: str) -> None:
    FRAUD_REFUSALS.labels(country=country, scope=scope, decision=decision).inc()


def fraud_open_breakers(scope: str, count: int) -> None:
    FRAUD_OPEN.labels(scope=scope).set(count)


def fraud_transition(scope: str, from_state: str, to_state: str) -> None:
    FRAUD_TRANSITIONS.labels(scope=scope, from_state=from_state, to_state=to_state).inc()
