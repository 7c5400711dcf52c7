"""GET /verify/{id} in every state, and POST /verify/{id}/cancel."""

from otpservice.clock import FakeClock
from otpservice.errors import ProviderRejected
from otpservice.providers.base import OutgoingSms, SendReceipt
from tests.conftest import AppFactory
from tests.verify.helpers import NUMBER, check, last_code, services, start, verification_rows

DETAIL_FIELDS = {
    "id",
    "to",
    "channel",
    "status",
    "expiresAt",
    "sendAttempts",
    "canResendAt",
    "checkAttemptsLeft",
    "createdAt",
    "approvedAt",
    "deliveryStatus",
    "locale",
}


async def test_lookup_of_a_pending_verification(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        started = (await start(client)).json()
        response = await client.get(f"/verify/{started['id']}")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == DETAIL_FIELDS
        assert {key: body[key] for key in started} == started
        assert body["createdAt"] == "2027-01-15T08:00:00.000Z"
        assert body["approvedAt"] is None
        assert body["deliveryStatus"] == "sent"


async def test_lookup_of_an_approved_verification(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app() as client:
        started = (await start(client)).json()
        clock.advance(42)
        await check(client, last_code(client))
        body = (await client.get(f"/verify/{started['id']}")).json()
        assert (body["status"], body["approvedAt"], body["checkAttemptsLeft"]) == (
            "approved",
            "2027-01-15T08:00:42.000Z",
            4,
        )


async def test_lookup_of_unknown_ids(verify_app: AppFactory) -> None:
    async with verify_app() as client:
        for unknown in ("VE" + "0" * 32, "x" * 300):
            response = await client.get(f"/verify/{unknown}")
            assert (response.status_code, response.json()["code"]) == (404, "verification_not_found")
        for action in ("start", "check"):  # a wrong method on those routes, not an unknown id
            response = await client.get(f"/verify/{action}")
            assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


async def test_cancel_then_nothing_is_pending(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app() as client:
        started = (await start(client)).json()
        canceled = await client.post(f"/verify/{started['id']}/cancel")
        assert canceled.status_code == 200
        assert set(canceled.json()) == DETAIL_FIELDS
        assert canceled.json()["status"] == "canceled"
        again = await client.post(f"/verify/{started['id']}/cancel")
        assert (again.status_code, again.json()["code"]) == (404, "verification_not_found")
        assert (await client.get(f"/verify/{started['id']}")).json()["status"] == "canceled"
        clock.advance(1)
        assert (await start(client)).status_code == 201  # a new verification, a new code


async def test_cancel_of_approved_expired_or_unknown(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app(otp_ttl=60) as client:
        approved = (await start(client)).json()
        await check(client, last_code(client))
        clock.advance(1)
        expiring = (await start(client)).json()
        clock.advance(60)
        for verification_id in (approved["id"], expiring["id"], "VE" + "1" * 32, "nonsense"):
            response = await client.post(f"/verify/{verification_id}/cancel")
            assert (response.status_code, response.json()["code"]) == (404, "verification_not_found")
        assert (await client.get(f"/verify/{expiring['id']}")).json()["status"] == "expired"


async def test_a_provider_failure_fails_the_verification(verify_app: AppFactory, clock: FakeClock) -> None:
    async with verify_app() as client:
        provider = services(client).provider

        async def refuse(sms: OutgoingSms) -> SendReceipt:
            raise ProviderRejected("console rejected the message")

        original_send = provider.send
        provider.send = refuse  # type: ignore[method-assign]
        failed = await start(client)
        assert (failed.status_code, failed.json()["code"]) == (502, "provider_error")
        [row] = await verification_rows(client)
        assert (row["status"], row["delivery_status"]) == ("failed", "failed")
        assert (await client.get(f"/verify/{row['id']}")).json()["status"] == "failed"
        provider.send = original_send  # type: ignore[method-assign]
        clock.advance(1)
        fresh = await start(client)
        assert fresh.status_code == 201 and fresh.json()["id"] != row["id"]
        assert (await check(client, last_code(client), to=NUMBER)).json()["status"] == "approved"
