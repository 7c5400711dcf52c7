"""The Twilio-compatible API beside the native one: auth, shared verifications, services'
scopes, how our refusals map to Twilio's codes, and bad bodies (never a 500)."""

import base64

import httpx
import pytest
from twilio.base.exceptions import TwilioException

from tests.api.conftest import Live, LiveFactory
from tests.api.live import ACCOUNT_SID, twilio_client
from tests.api.test_twilio_verify import NUMBER, OTHER, error_of, wrong


def basic(password: str, user: str = ACCOUNT_SID) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def new_service(app: Live, name: str = "Acme") -> str:
    return str(twilio_client(app.url).verify.v2.services.create(friendly_name=name).sid)


def test_basic_auth_needs_one_of_api_keys_and_echoes_the_user(live: LiveFactory) -> None:
    with live(api_keys="key-one,key-two") as app:
        good = twilio_client(app.url, password="key-two", username="AC" + "a" * 32).verify.v2
        service = good.services.create(friendly_name="Acme")
        refused = [
            error_of(lambda: twilio_client(app.url, password="wrong").verify.v2.services(service.sid).fetch()),
            error_of(lambda: twilio_client(app.url, password="").verify.v2.services.create(friendly_name="x")),
        ]
        bearer = httpx.get(f"{app.url}/v2/Services/{service.sid}", headers={"Authorization": "Bearer key-one"})
        native_with_basic = httpx.post(app.url + "/verify/start", json={"to": NUMBER}, headers=basic("key-one"))
    assert service.account_sid == "AC" + "a" * 32
    assert [(error.status, error.code) for error in refused] == [(401, 20003), (401, 20003)]
    assert bearer.status_code == 401 and bearer.json()["code"] == 20003
    assert bearer.headers["WWW-Authenticate"].startswith("Basic")
    assert native_with_basic.status_code == 401 and native_with_basic.json()["code"] == "unauthorized"


def test_a_verification_started_by_either_api_is_read_and_checked_by_the_other(live: LiveFactory) -> None:
    with live() as app:
        service = twilio_client(app.url).verify.v2.services(new_service(app))
        by_twilio = service.verifications.create(to=NUMBER, channel="sms")
        native_view = httpx.get(f"{app.url}/verify/{by_twilio.sid}").json()
        native_check = httpx.post(app.url + "/verify/check", json={"to": NUMBER, "code": app.last_code()})
        by_native = httpx.post(app.url + "/verify/start", json={"to": OTHER}).json()
        seen_by_twilio = service.verifications(by_native["id"]).fetch()
        twilio_check = service.verification_checks.create(to=OTHER, code=app.last_code())
        native_after = httpx.get(f"{app.url}/verify/{by_native['id']}").json()
    assert (native_view["id"], native_view["status"]) == (by_twilio.sid, "pending")
    assert native_check.json()["id"] == by_twilio.sid and native_check.json()["status"] == "approved"
    assert (seen_by_twilio.sid, seen_by_twilio.status, seen_by_twilio.to) == (by_native["id"], "pending", OTHER)
    assert (twilio_check.sid, twilio_check.status, twilio_check.valid) == (by_native["id"], "approved", True)
    assert native_after["status"] == "approved"


def test_a_verification_belongs_to_the_service_that_started_it(live: LiveFactory) -> None:
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        first, second = verify.services(new_service(app, "First")), verify.services(new_service(app, "Second"))
        started = first.verifications.create(to=NUMBER, channel="sms")
        code = app.last_code()
        hidden = [
            error_of(lambda: second.verifications(started.sid).fetch()),
            error_of(lambda: second.verification_checks.create(to=NUMBER, code=code)),
            error_of(lambda: second.verification_checks.create(verification_sid=started.sid, code=code)),
        ]
        still_pending = first.verifications(started.sid).fetch()
        app.clock.advance(1)
        own = second.verifications.create(to=NUMBER, channel="sms")
        own_body = app.outbox()[0]
        superseded = error_of(lambda: first.verifications(started.sid).fetch())
        native = httpx.get(f"{app.url}/verify/{started.sid}").json()
    assert [(error.status, error.code) for error in hidden] == [(404, 20404)] * 3
    assert still_pending.status == "pending"
    # A start re-sends only its own service's verification: another one is a new one.
    assert own.sid != started.sid and own.service_sid == second._solution["sid"]
    assert "Second" in own_body
    assert (superseded.code, native["status"]) == (20404, "canceled")


@pytest.mark.parametrize(
    ("settings", "to", "status", "code"),
    [
        ({"otp_allowed_countries": "US"}, NUMBER, 403, 60605),
        ({}, "+390212345678", 403, 60205),  # a fixed line, with OTP_MOBILE_ONLY
    ],
)
def test_our_refusals_map_to_twilio_codes(
    live: LiveFactory, settings: dict[str, str], to: str, status: int, code: int
) -> None:
    with live(**settings) as app:
        service = twilio_client(app.url).verify.v2.services(new_service(app))
        error = error_of(lambda: service.verifications.create(to=to, channel="sms"))
    assert (error.status, error.code) == (status, code)


def test_every_429_is_twilios_with_retry_after(live: LiveFactory) -> None:
    with live(rate_limit_max_requests=1, otp_max_check_attempts=1) as app:
        sid = new_service(app)
        first = httpx.post(f"{app.url}/v2/Services/{sid}/Verifications", data={"To": NUMBER, "Channel": "sms"})
        limited = httpx.post(f"{app.url}/v2/Services/{sid}/Verifications", data={"To": OTHER, "Channel": "sms"})
        code = app.last_code()
        check = f"{app.url}/v2/Services/{sid}/VerificationCheck"
        spent = httpx.post(check, data={"To": NUMBER, "Code": wrong(code)})
        after = httpx.post(check, data={"To": NUMBER, "Code": code})
    assert first.status_code == 201
    assert limited.status_code == 429 and limited.json()["code"] == 20429
    assert set(limited.json()) == {"code", "message", "more_info", "status"} and limited.json()["status"] == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert spent.status_code == 200 and spent.json()["valid"] is False
    assert after.status_code == 429 and after.json()["code"] == 60202 and int(after.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b'{"To": "+393331234567", "Channel": "sms"}',
        b"&".join(b"k%d=v" % i for i in range(80)),
        b"To=%2B39333&Channel=sms&To=x",
    ],
)
def test_bad_bodies_are_400_60200_never_500(live: LiveFactory, body: bytes) -> None:
    with live() as app:
        sid = new_service(app)
        response = httpx.post(
            f"{app.url}/v2/Services/{sid}/Verifications",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 400 and response.json()["code"] == 60200


def test_other_paths_and_methods_under_v2_answer_twilios_body(live: LiveFactory) -> None:
    with live() as app:
        sid = new_service(app)
        missing = httpx.get(f"{app.url}/v2/Services/{sid}/RateLimits")
        wrong_method = httpx.delete(f"{app.url}/v2/Services/{sid}")
        with pytest.raises(TwilioException, match="405"):
            twilio_client(app.url).verify.v2.services.list()  # listing services is not supported
    assert missing.status_code == 404 and missing.json()["code"] == 20404
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == 20004


def test_urls_use_public_base_url_when_set(live: LiveFactory) -> None:
    with live(public_base_url="https://otp.example.com/") as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services.create(friendly_name="Acme")
        started = verify.services(service.sid).verifications.create(to=NUMBER, channel="sms")
    assert service.url == f"https://otp.example.com/v2/Services/{service.sid}"
    assert started.url == f"https://otp.example.com/v2/Services/{service.sid}/Verifications/{started.sid}"


def test_a_suspended_range_and_a_spent_budget_answer_twilios_codes(live: LiveFactory) -> None:
    with live(fraud_guard="enforce", sms_budget_countries="GB:1", admin_api_keys="admin-key-1") as app:
        blocked = httpx.post(
            app.url + "/admin/fraud/breakers/prefix/+39333123",
            json={"action": "block"},
            headers={"Authorization": "Bearer admin-key-1"},
        )
        assert blocked.status_code == 200, blocked.text
        service = twilio_client(app.url).verify.v2.services(new_service(app))
        suspended = error_of(lambda: service.verifications.create(to="+393331234567", channel="sms"))
        assert service.verifications.create(to="+447400123450", channel="sms").status == "pending"
        budget = error_of(lambda: service.verifications.create(to="+447400123451", channel="sms"))
    assert (suspended.status, suspended.code) == (429, 60410)
    assert (budget.status, budget.code) == (429, 20429)
