"""POST /verify/check: approval, the wrong-code budget, expiry, and what is not pending."""

from typing import Any

import pytest

from otpservice.clock import FakeClock
from tests.conftest import AppFactory
from tests.verify.helpers import NUMBER, OTHER_NUMBER, check, last_code, start, wrong_code

CHECK_FIELDS = {"id", "to", "status", "valid", "checkAttemptsLeft"}


async def test_right_code_by_number_approves(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        started = (await start(client)).json()
        response = await check(client, last_code(client))
        assert response.status_code == 200
        assert response.json() == {
            "id": started["id"],
            "to": NUMBER,
            "status": "approved",
            "valid": True,
            "checkAttemptsLeft": 4,
        }


async def test_right_code_by_id_approves(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        started = (await start(client)).json()
        response = await check(client, last_code(client), id=started["id"])
        assert response.json()["status"] == "approved" and response.json()["valid"] is True


async def test_a_code_is_accepted_once(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        started = (await start(client)).json()
        code = last_code(client)
        assert (await check(client, code)).status_code == 200
        for selector in ({"to": NUMBER}, {"id": started["id"]}):
            again = await check(client, code, **selector)
            assert (again.status_code, again.json()["code"]) == (404, "verification_not_found")


async def test_wrong_codes_spend_the_budget(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(otp_max_check_attempts=3) as client:
        started = (await start(client)).json()
        code = last_code(client)
        for left in (2, 1):
            wrong = await check(client, wrong_code(code))
            assert wrong.status_code == 200
            assert wrong.json() == {
                "id": started["id"],
                "to": NUMBER,
                "status": "pending",
                "valid": False,
                "checkAttemptsLeft": left,
            }
        last = await check(client, wrong_code(code))
        assert last.status_code == 200
        assert last.json() == {
            "id": started["id"],
            "to": NUMBER,
            "status": "max_attempts_reached",
            "valid": False,
            "checkAttemptsLeft": 0,
        }
        clock.advance(100)
        for selector in ({"to": NUMBER}, {"id": started["id"]}):
            refused = await check(client, code, **selector)  # even the right code
            assert (refused.status_code, refused.json()["code"]) == (429, "max_attempts_reached")
            assert refused.headers["Retry-After"] == "500"  # to expiresAt
        lookup = (await client.get(f"/verify/{started['id']}")).json()
        assert (lookup["status"], lookup["checkAttemptsLeft"]) == ("max_attempts_reached", 0)


async def test_after_max_attempts_a_new_start_waits_for_the_expiry(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(otp_max_check_attempts=1) as client:
        first = (await start(client)).json()
        await check(client, wrong_code(last_code(client)))
        clock.advance(60)
        refused = await start(client)
        assert (refused.status_code, refused.json()["code"]) == (429, "max_attempts_reached")
        assert refused.headers["Retry-After"] == "540"
        clock.advance(540)
        fresh = await start(client)
        assert fresh.status_code == 201 and fresh.json()["id"] != first["id"]
        assert (await check(client, last_code(client))).json()["status"] == "approved"


async def test_an_expired_verification_is_not_found(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(otp_ttl=60) as client:
        started = (await start(client)).json()
        code = last_code(client)
        clock.advance(60)
        expired = await check(client, code)
        assert (expired.status_code, expired.json()["code"]) == (404, "verification_not_found")
        assert (await client.get(f"/verify/{started['id']}")).json()["status"] == "expired"
        renewed = await start(client)
        assert renewed.status_code == 201 and renewed.json()["id"] != started["id"]
        assert (await check(client, last_code(client))).json()["status"] == "approved"


async def test_a_verification_just_before_expiry_still_works(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(otp_ttl=60) as client:
        await start(client)
        clock.advance(59.9)
        assert (await check(client, last_code(client))).json()["status"] == "approved"


async def test_an_expired_pending_verification_is_marked_on_lookup(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(otp_ttl=60) as client:
        started = (await start(client)).json()
        clock.advance(61)
        assert (await client.get(f"/verify/{started['id']}")).json()["status"] == "expired"


async def test_never_started_and_unknown_ids_are_not_found(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        for selector in ({"to": OTHER_NUMBER}, {"id": "VE" + "0" * 32}, {"id": "nonsense"}):
            response = await check(client, "123456", **selector)
            assert response.status_code == 404
            assert response.json() == {
                "statusCode": 404,
                "error": "Not Found",
                "message": "No pending verification found",
                "code": "verification_not_found",
            }


async def test_a_canceled_verification_cannot_be_checked(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        started = (await start(client)).json()
        await client.post(f"/verify/{started['id']}/cancel")
        assert (await check(client, last_code(client))).status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        {"to": NUMBER},
        {"to": NUMBER, "code": 123456},
        {"to": NUMBER, "code": "12a456"},
        {"to": NUMBER, "code": "123"},
        {"to": NUMBER, "code": "12345678901"},
        {"code": "123456"},
        {"to": NUMBER, "id": "VE" + "0" * 32, "code": "123456"},
        {"to": NUMBER, "code": "123456", "extra": 1},
    ],
)
async def test_bad_check_requests(app_client: AppFactory, payload: dict[str, Any]) -> None:
    async with app_client() as client:
        response = await client.post("/verify/check", json=payload)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_request")


async def test_check_of_an_invalid_number(app_client: AppFactory) -> None:
    async with app_client() as client:
        response = await check(client, "123456", to="12345")
        assert (response.status_code, response.json()["code"]) == (400, "invalid_phone_number")


async def test_a_malformed_check_does_not_spend_an_attempt(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        await start(client)
        await check(client, "12x")
        assert (await check(client, wrong_code(last_code(client)))).json()["checkAttemptsLeft"] == 4


async def test_check_response_has_the_contract_fields(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        await start(client)
        assert set((await check(client, wrong_code(last_code(client)))).json()) == CHECK_FIELDS
