"""Twilio's formats: the one date form its SDK parses, and our refusals as Twilio codes."""

from datetime import UTC, datetime

import pytest
from twilio.base import deserialize

from otpservice.api.twilio_render import send_code_attempts, twilio_date, twilio_error
from otpservice.errors import (
    BudgetExhausted,
    DestinationSuspended,
    LimitsUnavailable,
    NumberDelayed,
    OTPServiceError,
    ProviderUnavailable,
)
from otpservice.verify.views import VerificationView


def test_dates_are_exactly_what_the_sdk_parses() -> None:
    text = twilio_date(1_800_000_000.987)
    assert text == "2027-01-15T08:00:00Z"
    assert deserialize.iso8601_datetime(text) == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (DestinationSuspended("refused", scope="prefix", key="393471", retry_after=12.2), 429, 60410),
        (LimitsUnavailable("refused", retry_after=12.2), 503, 20503),
        (BudgetExhausted("refused", retry_after=12.2), 429, 20429),
        (NumberDelayed(retry_after=3), 429, 20429),
        (ProviderUnavailable(), 502, 20502),
    ],
)
def test_refusals_become_twilio_codes(error: OTPServiceError, status: int, code: int) -> None:
    response = twilio_error(error)
    assert response.status_code == status
    assert response.body.startswith(f'{{"code":{code},'.encode())
    if status == 429:
        assert int(response.headers["Retry-After"]) >= 1


def test_each_send_is_one_attempt_with_its_own_sid() -> None:
    view = VerificationView(
        id="VE" + "a" * 32,
        to="+393331234567",
        channel="sms",
        status="pending",
        expires_at=0,
        send_attempts=3,
        can_resend_at=0,
        check_attempts_left=5,
        created_at=1_800_000_000,
        approved_at=None,
        delivery_status=None,
        last_sent_at=1_800_000_090,
    )
    attempts = send_code_attempts(view)
    assert [a["time"] for a in attempts] == ["2027-01-15T08:00:00Z", "2027-01-15T08:01:30Z", "2027-01-15T08:01:30Z"]
    assert len({a["attempt_sid"] for a in attempts}) == 3
    assert all(a["attempt_sid"].startswith("VL") and len(a["attempt_sid"]) == 34 for a in attempts)
