"""What the service tells about a verification: everything but its code and salt."""

from dataclasses import dataclass

from otpservice.core.rate_window import RateWindow
from otpservice.core.statuses import MAX_ATTEMPTS_REACHED
from otpservice.db.models import Verification
from otpservice.limits.delay import DelayPolicy
from otpservice.verify.codes import TEST_NUMBER_KEY_ID


@dataclass(frozen=True)
class VerificationView:
    id: str
    to: str
    channel: str
    status: str
    expires_at: float
    send_attempts: int
    can_resend_at: float
    check_attempts_left: int
    created_at: float
    approved_at: float | None
    delivery_status: str | None
    # For the Twilio-compatible API (SPEC 11).
    service_sid: str | None = None
    updated_at: float | None = None
    last_sent_at: float | None = None
    locale: str = "en"
    last_message_id: str | None = None


@dataclass(frozen=True)
class StartOutcome:
    verification: VerificationView
    created: bool
    rate_window: RateWindow | None = None  # the global window after this start's send


@dataclass(frozen=True)
class CheckOutcome:
    verification: VerificationView
    valid: bool


def describe(
    verification: Verification, *, delay: DelayPolicy, max_sends: int, delivery_status: str | None = None
) -> VerificationView:
    approved_at = verification.approved_at
    return VerificationView(
        id=verification.id,
        to=verification.to,
        channel=verification.channel,
        status=verification.status,
        expires_at=verification.expires_at.timestamp(),
        send_attempts=verification.send_attempts,
        can_resend_at=can_resend_at(verification, delay=delay, max_sends=max_sends),
        check_attempts_left=max(0, verification.max_check_attempts - verification.check_attempts),
        created_at=verification.created_at.timestamp(),
        approved_at=approved_at.timestamp() if approved_at else None,
        delivery_status=delivery_status or verification.delivery_status,
        service_sid=verification.service_sid,
        updated_at=verification.updated_at.timestamp(),
        last_sent_at=verification.last_sent_at.timestamp() if verification.last_sent_at else None,
        locale=verification.locale,
        last_message_id=verification.last_message_id,
    )


def can_resend_at(verification: Verification, *, delay: DelayPolicy, max_sends: int) -> float:
    """When a start may send again: the per-number delay after this verification's sends.

    An estimate: the delay counts every send to the number (/send too, and sends before
    this verification), so the real instant may come later; a start before it gets 429
    number_delayed with the exact wait. With no send left, it is expiresAt, when a
    new verification can start.
    """
    if verification.status == MAX_ATTEMPTS_REACHED or verification.send_attempts >= max_sends:
        return verification.expires_at.timestamp()
    last_sent = (verification.last_sent_at or verification.created_at).timestamp()
    if verification.key_id == TEST_NUMBER_KEY_ID:
        return last_sent
    return last_sent + delay.wait_after(verification.send_attempts)
