"""The Twilio Verify v2 compatible API, driven by the official twilio SDK over a real socket,
on SQLite and PostgreSQL: every route, Twilio's behaviour and its error codes."""

from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.api.conftest import LiveFactory
from tests.api.live import ACCOUNT_SID, twilio_client

NUMBER = "+393331234567"
OTHER = "+393337654321"


def error_of(call: object) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()  # type: ignore[operator]
    return caught.value


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def test_a_service_is_created_and_fetched_in_twilios_format(live: LiveFactory) -> None:
    with live(otp_code_length=7) as app:
        verify = twilio_client(app.url).verify.v2
        created = verify.services.create(friendly_name="Acme Shop", code_length=8)
        default = verify.services.create(friendly_name="Default Length")
        fetched = verify.services(created.sid).fetch()
    assert created.sid.startswith("VA") and len(created.sid) == 34
    assert (fetched.sid, fetched.friendly_name, fetched.code_length) == (created.sid, "Acme Shop", 8)
    assert default.code_length == 7  # OTP_CODE_LENGTH
    assert fetched.account_sid == ACCOUNT_SID
    assert isinstance(fetched.date_created, datetime) and isinstance(fetched.date_updated, datetime)
    assert fetched.url == f"{app.url}/v2/Services/{created.sid}"
    assert fetched.links["verifications"] == f"{app.url}/v2/Services/{created.sid}/Verifications"
    assert fetched.psd2_enabled is False and fetched.lookup_enabled is False


def test_start_fetch_and_check_as_twilio_does(live: LiveFactory) -> None:
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services.create(friendly_name="Acme Shop", code_length=8)
        service_verifications = verify.services(service.sid).verifications
        started = service_verifications.create(to=NUMBER, channel="sms")
        body, code = app.outbox()[0], app.last_code()
        fetched = service_verifications(started.sid).fetch()
        checks = verify.services(service.sid).verification_checks
        wrong_check = checks.create(to=NUMBER, code=wrong(code))
        right = checks.create(verification_sid=started.sid, code=code)
        again = error_of(lambda: checks.create(to=NUMBER, code=code))
        gone = error_of(lambda: service_verifications(started.sid).fetch())
        update = error_of(lambda: service_verifications(started.sid).update(status="canceled"))
    assert "Acme Shop" in body and len(code) == 8
    assert started.sid.startswith("VE") and started.service_sid == service.sid
    assert (started.status, started.valid, started.channel, started.to) == ("pending", False, "sms", NUMBER)
    assert started.account_sid == ACCOUNT_SID
    assert isinstance(started.date_created, datetime) and started.url == (
        f"{app.url}/v2/Services/{service.sid}/Verifications/{started.sid}"
    )
    assert len(started.send_code_attempts) == 1 and started.send_code_attempts[0]["channel"] == "sms"
    assert (fetched.sid, fetched.status) == (started.sid, "pending")
    assert (wrong_check.status, wrong_check.valid) == ("pending", False)
    assert (right.sid, right.status, right.valid) == (started.sid, "approved", True)
    assert isinstance(right.date_updated, datetime)
    for error in (again, gone, update):
        assert (error.status, error.code) == (404, 20404)


def test_a_restart_resends_the_same_code_until_60203(live: LiveFactory) -> None:
    with live(otp_max_sends=3) as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services.create(friendly_name="Acme")
        verifications = verify.services(service.sid).verifications
        sends = []
        for _ in range(3):
            sends.append(verifications.create(to=NUMBER, channel="sms"))
            app.clock.advance(1)
        codes = set(_codes(app.outbox()))
        refused = error_of(lambda: verifications.create(to=NUMBER, channel="sms"))
    assert len({send.sid for send in sends}) == 1 and len(codes) == 1
    assert [len(send.send_code_attempts) for send in sends] == [1, 2, 3]
    assert (refused.status, refused.code) == (429, 60203)


def _codes(bodies: list[str]) -> list[str]:
    return [next(word for word in body.replace(".", " ").split() if word.isdigit()) for body in bodies]


def test_checks_after_the_last_attempt_are_60202_then_the_verification_is_gone(live: LiveFactory) -> None:
    with live(otp_max_check_attempts=3) as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services.create(friendly_name="Acme")
        started = verify.services(service.sid).verifications.create(to=NUMBER, channel="sms")
        code = app.last_code()
        checks = verify.services(service.sid).verification_checks
        wrong_checks = [checks.create(to=NUMBER, code=wrong(code)) for _ in range(3)]
        spent = error_of(lambda: checks.create(to=NUMBER, code=code))
        fetched = error_of(lambda: verify.services(service.sid).verifications(started.sid).fetch())
    assert [check.valid for check in wrong_checks] == [False, False, False]
    assert [check.status for check in wrong_checks[:2]] == ["pending", "pending"]
    assert (spent.status, spent.code) == (429, 60202)
    assert (fetched.status, fetched.code) == (404, 20404)


def test_update_cancels_or_approves_and_then_it_is_gone(live: LiveFactory) -> None:
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services(verify.services.create(friendly_name="Acme").sid)
        first = service.verifications.create(to=NUMBER, channel="sms")
        canceled = service.verifications(first.sid).update(status="canceled")
        after_cancel = error_of(lambda: service.verifications(first.sid).fetch())
        second = service.verifications.create(to=OTHER, channel="sms")
        approved = service.verifications(second.sid).update(status="approved")
        check_after = error_of(lambda: service.verification_checks.create(to=OTHER, code="123456"))
        bad_status = error_of(lambda: service.verifications(second.sid).update(status="pending"))
    assert (canceled.status, canceled.valid) == ("canceled", False)
    assert (approved.status, approved.valid) == ("approved", True)
    assert (after_cancel.status, after_cancel.code) == (404, 20404)
    assert (check_after.status, check_after.code) == (404, 20404)
    assert (bad_status.status, bad_status.code) == (400, 60200) and "Status" in bad_status.msg


def test_an_expired_verification_is_gone_for_fetch_check_and_update(live: LiveFactory) -> None:
    with live(otp_ttl=60) as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services(verify.services.create(friendly_name="Acme").sid)
        started = service.verifications.create(to=NUMBER, channel="sms")
        code = app.last_code()
        app.clock.advance(61)
        errors = [
            error_of(lambda: service.verifications(started.sid).fetch()),
            error_of(lambda: service.verification_checks.create(to=NUMBER, code=code)),
            error_of(lambda: service.verifications(started.sid).update(status="approved")),
        ]
    assert [(error.status, error.code) for error in errors] == [(404, 20404)] * 3


@pytest.mark.parametrize("channel", ["sna", "auto", "voice"])
def test_other_channels_are_refused_naming_the_parameter(live: LiveFactory, channel: str) -> None:
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services(verify.services.create(friendly_name="Acme").sid)
        error = error_of(lambda: service.verifications.create(to=NUMBER, channel=channel))
    assert (error.status, error.code) == (400, 60200)
    assert "Channel" in error.msg and "sms, whatsapp, call or email" in error.msg


def test_a_channel_not_configured_is_60223(live: LiveFactory) -> None:
    """Email without SMTP_URL: Twilio's "delivery channel disabled" (channels: docs/channels.md)."""
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services(verify.services.create(friendly_name="Acme").sid)
        error = error_of(lambda: service.verifications.create(to="a@example.com", channel="email"))
    assert (error.status, error.code) == (400, 60223)


def test_bad_parameters_are_400_60200_naming_them(live: LiveFactory) -> None:
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services(verify.services.create(friendly_name="Acme").sid)
        cases = {
            "To": lambda: service.verifications.create(to="12345", channel="sms"),
            "Amount": lambda: service.verifications.create(to=NUMBER, channel="sms", amount="10", payee="Shop"),
            "CustomCode": lambda: service.verifications.create(to=NUMBER, channel="sms", custom_code="123456"),
            "CodeLength": lambda: verify.services.create(friendly_name="Acme", code_length=11),
            "FriendlyName": lambda: verify.services.create(friendly_name="x" * 40),
            "Psd2Enabled": lambda: verify.services.create(friendly_name="Acme", psd2_enabled=True),
            "Code": lambda: service.verification_checks.create(to=NUMBER, code="12"),
            "VerificationSid": lambda: service.verification_checks.create(code="123456"),
        }
        errors = {name: error_of(call) for name, call in cases.items()}
    for name, error in errors.items():
        assert (error.status, error.code) == (400, 60200), name
        assert name in error.msg, (name, error.msg)


def test_unknown_services_and_verifications_are_20404(live: LiveFactory) -> None:
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        known = verify.services(verify.services.create(friendly_name="Acme").sid)
        unknown = verify.services("VA" + "f" * 32)
        errors = [
            error_of(lambda: unknown.fetch()),
            error_of(lambda: verify.services("nonsense").fetch()),
            error_of(lambda: unknown.verifications.create(to=NUMBER, channel="sms")),
            error_of(lambda: unknown.verification_checks.create(to=NUMBER, code="123456")),
            error_of(lambda: known.verifications("VE" + "0" * 32).fetch()),
            error_of(lambda: known.verifications("VE-not-a-sid").update(status="canceled")),
            error_of(lambda: known.verification_checks.create(to=NUMBER, code="123456")),
        ]
    assert [(error.status, error.code) for error in errors] == [(404, 20404)] * len(errors)
    assert "/Services/VA" in errors[0].msg and "was not found" in errors[0].msg
