"""What the send budget reports about spend budgets (SPEC 17): gauges, and alerts once per window."""

import math

from otpservice.clock import Clock
from otpservice.observability import metrics
from otpservice.observability.alerts import Alert, AlertSender

THRESHOLD_SHARE = 0.8


class BudgetAlerts:
    """What the send budget reports about spend budgets: gauges, and alerts once per window."""

    def __init__(self, sender: AlertSender, clock: Clock) -> None:
        self._sender, self._clock = sender, clock

    def threshold_of(self, limit: int) -> int:
        return max(1, math.ceil(limit * THRESHOLD_SHARE))

    def used(self, scope: str, key: str, window: str, used: int, limit: int) -> None:
        metrics.budget_use(scope, key, window, used, limit)

    def crossed(self, event: str, scope: str, key: str, window: str, used: int, limit: int) -> None:
        self._sender.emit(Alert(event, scope, key, used, limit, window, self._clock.now()))
