"""Test numbers, message templates per locale, and the per-number and per-IP caps."""

import pytest

from otpservice.clock import FakeClock
from otpservice.errors import ProviderRejected
from otpservice.providers.base import OutgoingSms, SendReceipt
from otpservice.verify.message_text import MessageTemplates
from tests.conftest import AppFactory, make_settings, running_app
from tests.verify.helpers import NUMBER, OTHER_NUMBER, check, last_code, sent_bodies, services, start

TEST_NUMBER = "+15005550006"  # VOIP for phonenumbers: refused as a real number when mobile-only
TEST_NUMBERS = {"otp_test_numbers": f"{TEST_NUMBER}:424242", "otp_test_numbers_allowed": True}


async def test_a_test_number_gets_its_fixed_code_and_no_sms(verify_app: AppFactory) -> None:
    async with verify_app(**TEST_NUMBERS, otp_allowed_countries="IT") as client:
        started = await start(client, TEST_NUMBER)
        assert started.status_code == 201
        assert sent_bodies(client) == []
        assert (await check(client, "111111", to=TEST_NUMBER)).json()["valid"] is False
        approved = await check(client, "424242", to=TEST_NUMBER)
        assert approved.json() == {
            "id": started.json()["id"],
            "to": TEST_NUMBER,
            "status": "approved",
            "valid": True,
            "checkAttemptsLeft": 3,
        }


async def test_test_numbers_are_still_capped(verify_app: AppFactory) -> None:
    async with verify_app(**TEST_NUMBERS, otp_max_sends_per_number_hour=2) as client:
        assert (await start(client, TEST_NUMBER)).status_code == 201
        assert (await start(client, TEST_NUMBER)).status_code == 200
        refused = await start(client, TEST_NUMBER)
        assert (refused.status_code, refused.json()["code"]) == (429, "number_cap_reached")


async def test_a_real_number_like_the_test_one_is_refused(app_client: AppFactory) -> None:
    async with app_client() as client:
        refused = await start(client, TEST_NUMBER)
        assert (refused.status_code, refused.json()["code"]) == (403, "number_type_not_allowed")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "Your otpservice verification code is {code}. Do not share it with anyone."),
        ("it", "Il tuo codice di verifica otpservice è {code}. Non condividerlo con nessuno."),
        ("it-IT", "Il tuo codice di verifica otpservice è {code}. Non condividerlo con nessuno."),
        ("es", "Tu código de otpservice es {code}. No lo compartas con nadie."),
        ("fr_CA", "Votre code de vérification otpservice est {code}. Ne le partagez avec personne."),
        ("de", "Ihr otpservice-Bestätigungscode lautet {code}. Geben Sie ihn an niemanden weiter."),
        ("xx", "Your otpservice verification code is {code}. Do not share it with anyone."),
        ("???", "Your otpservice verification code is {code}. Do not share it with anyone."),
    ],
)
async def test_message_per_locale(app_client: AppFactory, locale: str, expected: str) -> None:
    async with app_client() as client:
        assert (await start(client, locale=locale)).status_code == 201
        assert sent_bodies(client)[0] == expected.format(code=last_code(client))


async def test_message_names_the_app_and_carries_the_app_hash(app_client: AppFactory) -> None:
    async with app_client(otp_app_name="Acme Bank") as client:
        await start(client, locale="fr", appHash="FA+9qCX9VSu")
        assert sent_bodies(client)[0] == (
            f"Votre code de vérification Acme Bank est {last_code(client)}. Ne le partagez avec personne."
            "\n\nFA+9qCX9VSu"
        )


def test_every_template_names_the_app_and_shows_the_code() -> None:
    templates = MessageTemplates("Acme")
    assert {"en", "it", "es", "fr", "de"} <= templates.locales
    for locale in templates.locales:
        text = templates.render(locale, "987654")
        assert "Acme" in text and "987654" in text and len(text) <= 140


async def test_per_number_cap(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(otp_max_sends_per_number_hour=2) as client:
        await start(client)
        clock.advance(5)
        assert (await start(client)).status_code == 200
        clock.advance(5)
        refused = await start(client)
        assert (refused.status_code, refused.json()["code"]) == (429, "number_cap_reached")
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        assert (await start(client, OTHER_NUMBER)).status_code == 201


async def test_per_number_daily_cap(app_client: AppFactory, clock: FakeClock) -> None:
    async with app_client(otp_max_sends_per_number_day=1) as client:
        await start(client)
        clock.advance(5)
        refused = await start(client)
        assert (refused.status_code, refused.json()["code"]) == (429, "number_cap_reached")
        assert 3600 < int(refused.headers["Retry-After"]) <= 86400


async def test_a_send_the_provider_refused_counts_toward_the_cap(app_client: AppFactory, clock: FakeClock) -> None:
    async with app_client(otp_max_sends_per_number_hour=1) as client:
        provider = services(client).provider

        async def refuse(sms: OutgoingSms) -> SendReceipt:
            raise ProviderRejected("console rejected the message")

        original_send, provider.send = provider.send, refuse  # type: ignore[method-assign]
        assert (await start(client)).status_code == 502
        provider.send = original_send  # type: ignore[method-assign]
        clock.advance(5)
        assert (await start(client)).json()["code"] == "number_cap_reached"


async def test_per_ip_cap_on_starts_and_checks(app_client: AppFactory) -> None:
    async with app_client(otp_max_requests_per_ip_minute=3) as client:
        await start(client)
        await check(client, "000000")
        await check(client, "000000")
        for refused in (await check(client, "000000"), await start(client, OTHER_NUMBER)):
            assert (refused.status_code, refused.json()["code"]) == (429, "ip_rate_limited")
            assert 1 <= int(refused.headers["Retry-After"]) <= 60


@pytest.mark.redis
async def test_caps_hold_on_redis_across_replicas(
    sqlite_url: str, redis_url: str, redis_prefix: str, clock: FakeClock
) -> None:
    settings = make_settings(
        sqlite_url,
        rate_limit_storage_url=redis_url,
        rate_limit_key_prefix=redis_prefix,
        otp_max_sends_per_number_hour=1,
        otp_max_requests_per_ip_minute=2,
    )
    async with running_app(settings, clock=clock) as first, running_app(settings, clock=clock) as second:
        assert (await start(first)).status_code == 201
        clock.advance(5)
        capped = await start(second, NUMBER)
        assert capped.json()["code"] == "number_cap_reached"  # refused: takes nothing, the IP cap included
        assert (await start(first, OTHER_NUMBER)).status_code == 201
        refused = await start(second, "+393331239999")
        assert refused.json()["code"] == "ip_rate_limited"
