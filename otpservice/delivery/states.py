"""Message states and how providers' words map onto them. A state never moves backwards."""

from otpservice.core.statuses import AMBIGUOUS, CANCELED, DELIVERED, FAILED, QUEUED, SENDING, SENT, UNDELIVERED

# CANCELED: never sent, its code's verification was over (approved, canceled, expired) before its turn.
__all__ = ["AMBIGUOUS", "CANCELED", "DELIVERED", "FAILED", "QUEUED", "SENDING", "SENT", "UNDELIVERED"]

# AMBIGUOUS: maybe sent, never sent again (SPEC 19); a late receipt may still say what became of it.
RANK = {QUEUED: 0, SENDING: 1, SENT: 2, AMBIGUOUS: 2, DELIVERED: 3, UNDELIVERED: 3, FAILED: 3, CANCELED: 3}
FINAL = frozenset({AMBIGUOUS, DELIVERED, UNDELIVERED, FAILED, CANCELED})


def states_before(state: str) -> tuple[str, ...]:
    """The states a message may move from to reach `state` (strictly lower rank)."""
    return tuple(name for name, rank in RANK.items() if rank < RANK[state])


_TWILIO = {
    "accepted": SENT,
    "queued": SENT,
    "scheduled": SENT,
    "sending": SENT,
    "sent": SENT,
    "delivered": DELIVERED,
    "read": DELIVERED,
    "undelivered": UNDELIVERED,
    "failed": FAILED,
    "canceled": FAILED,
    # A call's status callback (CallStatus): answered and ended is delivered.
    "initiated": SENT,
    "ringing": SENT,
    "in-progress": SENT,
    "completed": DELIVERED,
    "busy": UNDELIVERED,
    "no-answer": UNDELIVERED,
}
_VONAGE = {
    "accepted": SENT,
    "buffered": SENT,
    "delivered": DELIVERED,
    "expired": UNDELIVERED,
    "failed": FAILED,
    "rejected": FAILED,
    # Messages API (WhatsApp) status webhooks and Voice API call events.
    "submitted": SENT,
    "read": DELIVERED,
    "undeliverable": UNDELIVERED,
    "started": SENT,
    "ringing": SENT,
    "answered": SENT,
    "completed": DELIVERED,
    "busy": UNDELIVERED,
    "timeout": UNDELIVERED,
    "unanswered": UNDELIVERED,
    "cancelled": UNDELIVERED,
}


def from_provider(provider: str, word: str) -> str | None:
    """Our state for a provider's status word, or None when it tells nothing ('unknown')."""
    word = word.strip().lower()
    if provider == "twilio":
        return _TWILIO.get(word)
    if provider == "vonage":
        return _VONAGE.get(word)
    # Kaleyra's receipts use operator words (DELIVRD, UNDELIV, FAILED, EXPIRED, SENT...).
    if word.startswith(("undeliv", "expire")):
        return UNDELIVERED
    if word.startswith("deliv"):
        return DELIVERED
    if word.startswith(("fail", "reject", "invalid", "dnd", "blacklist")):
        return FAILED
    if word.startswith(("sent", "submit", "accept", "awaited", "queued")):
        return SENT
    return None
