"""Twilio's Entities / Factors / Challenges for TOTP, driven by the official twilio SDK over a
real socket, on SQLite and PostgreSQL, the service's clock frozen so that codes are exact."""

from datetime import datetime

import httpx
import pyotp
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.api.conftest import Live, LiveFactory
from tests.api.live import ACCOUNT_SID, twilio_client

IDENTITY = "ff483d1ff591898a9942916050d2ca3f"


def code(app: Live, secret: str, digits: int = 6, period: int = 30) -> str:
    return pyotp.TOTP(secret, digits=digits, interval=period).at(app.clock.now())


def wrong(value: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in value)


def error_of(call: object) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_the_sdk_enrols_verifies_and_challenges(live: LiveFactory) -> None:
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services.create(friendly_name="Acme Shop")
        entity = verify.services(service.sid).entities(IDENTITY)
        factor = entity.new_factors.create(friendly_name="Alice's phone", factor_type="totp")
        secret = factor.binding["secret"]
        assert factor.sid.startswith("YF") and factor.status == "unverified" and factor.factor_type == "totp"
        assert factor.binding["uri"].startswith(f"otpauth://totp/Acme%20Shop:Alice%27s%20phone?secret={secret}")
        assert factor.config == {"alg": "sha1", "skew": 1, "code_length": 6, "time_step": 30}
        assert (factor.account_sid, factor.service_sid, factor.identity) == (ACCOUNT_SID, service.sid, IDENTITY)
        assert isinstance(factor.date_created, datetime)
        assert factor.url == f"{app.url}/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors/{factor.sid}"

        still = entity.factors(factor.sid).update(auth_payload=wrong(code(app, secret)))
        assert still.status == "unverified"
        verified = entity.factors(factor.sid).update(auth_payload=code(app, secret))
        assert verified.status == "verified"
        fetched = entity.factors(factor.sid).fetch()
        assert fetched.status == "verified"
        raw = httpx.get(fetched.url, auth=(ACCOUNT_SID, "any-key")).text
        assert secret not in raw and "binding" not in raw  # the secret is not shown again

        app.clock.advance(30)
        challenge = entity.challenges.create(factor_sid=factor.sid, auth_payload=code(app, secret))
        assert challenge.sid.startswith("YC") and challenge.status == "approved"
        assert challenge.responded_reason == "none" and challenge.factor_sid == factor.sid
        assert isinstance(challenge.expiration_date, datetime)
        replay = entity.challenges.create(factor_sid=factor.sid, auth_payload=code(app, secret))
        assert replay.status == "pending"
        app.clock.advance(30)
        answered = entity.challenges(replay.sid).update(auth_payload=code(app, secret))
        assert answered.status == "approved"
        assert entity.challenges(challenge.sid).fetch().status == "approved"
        assert {c.sid for c in entity.challenges.list()} == {challenge.sid, replay.sid}

        assert [f.sid for f in entity.factors.list()] == [factor.sid]
        assert entity.fetch().sid.startswith("YE")  # made by the factor's creation
        assert IDENTITY in [e.identity for e in verify.services(service.sid).entities.list()]
        assert entity.factors(factor.sid).delete() is True
        assert error_of(lambda: entity.factors(factor.sid).fetch()).status == 404
        assert entity.delete() is True
        assert error_of(lambda: entity.fetch()).status == 404


def test_twilios_options_and_errors(live: LiveFactory) -> None:
    with live() as app:
        verify = twilio_client(app.url).verify.v2
        service = verify.services.create(friendly_name="Acme")
        made = verify.services(service.sid).entities.create(identity=IDENTITY)
        assert made.identity == IDENTITY and made.service_sid == service.sid
        entity = verify.services(service.sid).entities(IDENTITY)
        secret = pyotp.random_base32()
        factor = entity.new_factors.create(
            friendly_name="Bob",
            factor_type="totp",
            binding_secret=secret,
            config_time_step=60,
            config_skew=0,
            config_code_length=8,
            config_alg="sha256",
        )
        assert factor.binding["secret"] == secret
        assert factor.config == {"alg": "sha256", "skew": 0, "code_length": 8, "time_step": 60}
        unverified = error_of(lambda: entity.challenges.create(factor_sid=factor.sid, auth_payload="12345678"))
        assert (unverified.status, unverified.code) == (403, 60318)
        good = pyotp.TOTP(secret, digits=8, interval=60, digest="sha256").at(app.clock.now())
        assert entity.factors(factor.sid).update(auth_payload=good).status == "verified"

        push = error_of(lambda: entity.new_factors.create(friendly_name="P", factor_type="push"))
        assert (push.status, push.code) == (400, 60200)
        for _ in range(5):
            pending = entity.challenges.create(factor_sid=factor.sid, auth_payload="00000000")
            assert pending.status == "pending"
        locked = error_of(lambda: entity.challenges.create(factor_sid=factor.sid, auth_payload="00000000"))
        assert (locked.status, locked.code) == (429, 60308)
        factor_locked = error_of(lambda: entity.factors(factor.sid).update(auth_payload="00000000"))
        assert (factor_locked.status, factor_locked.code) == (429, 60310)
        other = verify.services.create(friendly_name="Other")
        hidden = error_of(lambda: verify.services(other.sid).entities(IDENTITY).fetch())
        assert (hidden.status, hidden.code) == (404, 20404)


def test_the_api_key_is_required(live: LiveFactory) -> None:
    with live(api_keys="right-key") as app:
        service = twilio_client(app.url, password="right-key").verify.v2.services.create(friendly_name="Acme")
        entities = twilio_client(app.url, password="wrong-key").verify.v2.services(service.sid).entities
        refused = error_of(lambda: entities(IDENTITY).new_factors.create(friendly_name="A", factor_type="totp"))
        assert (refused.status, refused.code) == (401, 20003)


def test_other_methods_and_paths_under_entities_answer_twilios_405_and_404(live: LiveFactory) -> None:
    with live() as app:
        service = twilio_client(app.url).verify.v2.services.create(friendly_name="Acme")
        entities = f"{app.url}/v2/Services/{service.sid}/Entities"
        wrong_method = httpx.put(entities)
        assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 20004)
        assert httpx.patch(f"{entities}/{IDENTITY}/Factors").status_code == 405
        unknown = httpx.get(f"{entities}/{IDENTITY}/Webhooks")
        assert (unknown.status_code, unknown.json()["code"]) == (404, 20404)
        no_service = httpx.get(f"{app.url}/v2/Services/VA{'0' * 32}/Entities")
        assert (no_service.status_code, no_service.json()["code"]) == (404, 20404)
