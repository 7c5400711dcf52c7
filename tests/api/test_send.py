"""POST /send through the whole app, on the console provider."""

from typing import Any

import pytest

from tests.conftest import AppFactory, read_outbox

NUMBER = "+393331234567"


async def test_send_returns_the_reference_body(app_client: AppFactory) -> None:
    async with app_client() as client:
        response = await client.post("/send", json={"sender": "ACME", "receiver": NUMBER, "body": "hi"})
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"dateEvent", "numSegments", "sid", "status"}
        assert body["numSegments"] == "1" and body["status"] == "sent"
        assert body["dateEvent"].endswith("Z")
        outbox = (await read_outbox(client)).json()["messages"]
        assert outbox[0]["sid"] == body["sid"] and outbox[0]["to"] == NUMBER


async def test_send_parses_json_sent_as_a_form_type(app_client: AppFactory) -> None:
    async with app_client() as client:
        response = await client.post(
            "/send",
            content=f'{{"sender":"ACME","receiver":"{NUMBER}","body":"hi"}}',
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200


async def test_send_counts_segments_locally(app_client: AppFactory) -> None:
    async with app_client() as client:
        response = await client.post("/send", json={"sender": "ACME", "receiver": NUMBER, "body": "€" * 81})
        assert response.json()["numSegments"] == "2"


async def test_send_records_the_message(app_client: AppFactory) -> None:
    async with app_client() as client:
        sid = (await client.post("/send", json={"sender": "ACME", "receiver": NUMBER, "body": "hi"})).json()["sid"]
        stored = await client.app.state.services.messages.get(sid)  # type: ignore[attr-defined]
        assert stored is not None
        assert (stored.receiver, stored.sender, stored.status, stored.provider) == (NUMBER, "ACME", "sent", "console")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"sender": "ACME", "receiver": "3331234567", "body": "hi"}, 400, "invalid_phone_number"),
        ({"sender": "ACME", "receiver": "+3933312", "body": "hi"}, 400, "invalid_phone_number"),
        ({"sender": "ACME", "receiver": NUMBER, "body": ""}, 400, "invalid_request"),
        ({"sender": "ACME", "receiver": NUMBER, "body": "x" * 1601}, 400, "invalid_request"),
        ({"sender": "ACME", "receiver": NUMBER}, 400, "invalid_request"),
        ({"sender": "ACME", "receiver": 393331234567, "body": "hi"}, 400, "invalid_request"),
        ({"sender": "ACME", "receiver": NUMBER, "body": "hi", "extra": 1}, 400, "invalid_request"),
        ({"sender": "TOO LONG SENDER", "receiver": NUMBER, "body": "hi"}, 400, "invalid_request"),
        ({"sender": ["ACME"], "receiver": NUMBER, "body": "hi"}, 400, "invalid_request"),
    ],
)
async def test_bad_input_gets_a_clear_400(
    app_client: AppFactory, payload: dict[str, Any], status: int, code: str
) -> None:
    async with app_client() as client:
        response = await client.post("/send", json=payload)
        assert response.status_code == status
        assert response.json()["code"] == code
        assert response.json()["statusCode"] == status


@pytest.mark.parametrize("raw", ["{", "[]", "null", '"text"', "", "\xff\xfe"])
async def test_malformed_json_is_invalid_request(app_client: AppFactory, raw: str) -> None:
    async with app_client() as client:
        response = await client.post("/send", content=raw.encode("latin-1"))
        assert response.status_code == 400
        assert response.json() == {
            "statusCode": 400,
            "error": "Bad Request",
            "message": response.json()["message"],
            "code": "invalid_request",
        }


async def test_unknown_route_and_wrong_method(app_client: AppFactory) -> None:
    async with app_client() as client:
        missing = await client.get("/nope")
        assert missing.status_code == 404
        assert missing.json() == {
            "statusCode": 404,
            "error": "Not Found",
            "message": "Route not found",
            "code": "not_found",
        }
        wrong = await client.get("/send")
        assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


async def test_default_and_allowed_senders(app_client: AppFactory) -> None:
    async with app_client(sms_default_sender="ACME", sms_allowed_senders="ACME,+15005550006") as client:
        assert (await client.post("/send", json={"receiver": NUMBER, "body": "hi"})).status_code == 200
        refused = await client.post("/send", json={"sender": "OTHER", "receiver": "+14155552671", "body": "hi"})
        assert refused.status_code == 403 and refused.json()["code"] == "sender_not_allowed"


async def test_global_rate_limit(app_client: AppFactory) -> None:
    async with app_client(rate_limit_max_requests=3, rate_limit_time_window="1 minute") as client:
        for index in range(3):
            ok = await client.post("/send", json={"sender": "ACME", "receiver": f"+39333123456{index}", "body": "hi"})
            assert ok.status_code == 200
            assert ok.headers["X-RateLimit-Remaining"] == str(2 - index)
        refused = await client.post("/send", json={"sender": "ACME", "receiver": "+393331234569", "body": "hi"})
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["X-RateLimit-Limit"] == "3"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert 0 <= int(refused.headers["X-RateLimit-Reset"]) <= 60


async def test_number_delay_refuses_at_once_with_retry_after(app_client: AppFactory, clock: Any) -> None:
    async with app_client(exponential_delay_base=30) as client:
        payload = {"sender": "ACME", "receiver": NUMBER, "body": "hi"}
        assert (await client.post("/send", json=payload)).status_code == 200
        clock.advance(10)
        refused = await client.post("/send", json=payload)
        assert refused.status_code == 429 and refused.json()["code"] == "number_delayed"
        assert refused.headers["Retry-After"] == "20"
        clock.advance(20)
        assert (await client.post("/send", json=payload)).status_code == 200
