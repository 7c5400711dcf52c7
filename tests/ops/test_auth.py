"""API_KEYS: Bearer authentication on every API route but /-/* and webhooks."""

import logging

import pytest

from otpservice.api import middleware
from tests.conftest import AppFactory, read_outbox
from tests.ops.helpers import send_payload

KEY_ONE, KEY_TWO, KEY_THREE = "key-one-0123456789", "key-two-abcdefghij", "key-three-zyxwvu"
KEYS = f"{KEY_ONE},{KEY_TWO},{KEY_THREE}"
UNAUTHORIZED = {
    "statusCode": 401,
    "error": "Unauthorized",
    "message": "Missing or invalid API key",
    "code": "unauthorized",
}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": f"Bearer {KEY_ONE}x"},
        {"Authorization": f"Bearer {KEY_ONE[:-1]}"},
        {"Authorization": KEY_ONE},
        {"Authorization": f"Basic {KEY_ONE}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {KEY_ONE},{KEY_TWO}"},
    ],
)
async def test_send_without_the_right_key_is_refused_and_not_sent(
    app_client: AppFactory, headers: dict[str, str]
) -> None:
    async with app_client(api_keys=KEYS) as client:
        response = await client.post("/send", json=send_payload(), headers=headers)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"] == "Bearer"
        outbox = await read_outbox(client, headers={"Authorization": f"Bearer {KEY_ONE}"})
        assert outbox.json()["messages"] == []


@pytest.mark.parametrize("key", [KEY_ONE, KEY_TWO, KEY_THREE])
async def test_each_configured_key_is_accepted(app_client: AppFactory, key: str) -> None:
    async with app_client(api_keys=KEYS) as client:
        response = await client.post("/send", json=send_payload(), headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        assert response.json()["status"] == "sent"


async def test_scheme_is_case_insensitive(app_client: AppFactory) -> None:
    async with app_client(api_keys=KEYS) as client:
        response = await read_outbox(client, headers={"Authorization": f"bearer {KEY_TWO}"})
        assert response.status_code == 200


async def test_operations_and_webhooks_are_open_everything_else_is_not(app_client: AppFactory) -> None:
    async with app_client(api_keys=KEYS) as client:
        assert (await client.get("/-/healthz")).status_code == 200
        assert (await client.get("/-/ready")).status_code == 200
        # Open prefix: the router answers (404 here, as no webhook is mounted), not the key check.
        webhook = await client.post("/webhooks/nowhere")
        assert webhook.status_code == 404 and webhook.json()["code"] == "not_found"
        for path in ("/metrics", "/dev/outbox", "/no-such-route"):
            response = await client.get(path)
            assert response.status_code == 401, path
            assert response.json() == UNAUTHORIZED
        # The API's documentation is open (SPEC section 13) unless DOCS_ENABLED=false.
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/docs")).status_code == 200


async def test_with_docs_disabled_the_document_needs_a_key_and_the_page_is_gone(app_client: AppFactory) -> None:
    async with app_client(api_keys=KEYS, docs_enabled=False) as client:
        assert (await client.get("/openapi.json")).json() == UNAUTHORIZED
        assert (await client.get("/docs")).status_code == 401
        keyed = {"Authorization": f"Bearer {KEY_ONE}"}
        assert (await client.get("/openapi.json", headers=keyed)).status_code == 200
        page = await client.get("/docs", headers=keyed)
        assert page.status_code == 404 and page.json()["code"] == "not_found"
        assert (await client.get("/docs/swagger-ui-bundle.js", headers=keyed)).status_code == 404


async def test_without_api_keys_the_api_is_open_with_a_warning(
    app_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with app_client() as client:
            response = await client.post("/send", json=send_payload())
            assert response.status_code == 200
    assert any(r.levelno == logging.WARNING and "API_KEYS" in r.getMessage() for r in caplog.records)


async def test_with_api_keys_there_is_no_warning(app_client: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        async with app_client(api_keys=KEYS):
            pass
    assert not any("API_KEYS" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("presented", [KEY_ONE, KEY_THREE, "wrong-key", ""])
async def test_every_key_is_compared_in_constant_time(
    app_client: AppFactory, presented: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check compares against every key with hmac.compare_digest, with no early exit."""
    calls: list[tuple[bytes, bytes]] = []
    real = middleware.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(middleware.hmac, "compare_digest", spy)
    async with app_client(api_keys=KEYS) as client:
        response = await read_outbox(client, headers={"Authorization": f"Bearer {presented}"})
    assert response.status_code == (200 if presented in (KEY_ONE, KEY_THREE) else 401)
    assert len(calls) == 3
    # Equal-length operands: the time taken does not tell the length of a key.
    assert {len(a) for a, _ in calls} | {len(b) for _, b in calls} == {32}
