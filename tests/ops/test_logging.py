"""Structured logs: numbers masked, secrets redacted, one access line per request."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from otpservice.api.middleware import AccessLog
from otpservice.observability.logging import QUIET_LOGGERS, REDACTED, build_handler, secret_values
from tests.conftest import make_settings, running_app
from tests.ops.helpers import MASKED, NUMBER, send_payload

API_KEY = "api-key-7f3a9c2e51"
SECRETS = {
    "api_keys": f"{API_KEY},second-api-key-88",
    "otp_secret_key": "otp-secret-key-0123456789abcdef",
    "otp_previous_secret_keys": "previous-key-42aa",
    "webhook_secret": "webhook-secret-5b5b",
    "twilio_auth_token": "twilio-token-9c9c",
}


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def access(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "otpservice.access"]


@pytest.fixture
def capture() -> Iterator[Any]:
    """`capture(fmt, secrets)` attaches the service's own handler to the root logger."""
    root = logging.getLogger()
    added: list[logging.Handler] = []
    level = root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:  # as configure_logging does (the test client is an httpx client too)
        logging.getLogger(name).setLevel(logging.WARNING)

    def attach(fmt: str = "json", secrets: list[str] | None = None) -> Captured:
        stream = io.StringIO()
        handler = build_handler(fmt, secrets or [], stream)
        root.addHandler(handler)
        added.append(handler)
        root.setLevel(logging.INFO)
        return Captured(stream)

    yield attach
    for handler in added:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, previous in quiet.items():
        logging.getLogger(name).setLevel(previous)


async def test_send_flow_logs_masked_number_no_secret_and_a_templated_access_line(
    sqlite_url: str, capture: Any
) -> None:
    settings = make_settings(sqlite_url, **SECRETS)
    logs = capture("json", secret_values(settings))
    async with running_app(settings) as client:
        response = await client.post(
            "/send?trace=query-marker", json=send_payload(), headers={"Authorization": f"Bearer {API_KEY}"}
        )
    assert response.status_code == 200
    text = logs.text
    assert NUMBER not in text and NUMBER[1:] not in text
    assert MASKED in text
    for value in SECRETS.values():
        for secret in value.split(","):
            assert secret not in text
    assert "query-marker" not in text
    [access] = logs.access()
    assert (access["method"], access["route"], access["status"]) == ("POST", "/send", 200)
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["request_id"] == response.headers["X-Request-ID"]
    # The request id reaches the lines logged while serving the request, not just the access line.
    sent = next(line for line in logs.lines() if line["message"] == "sms sent")
    assert sent["request_id"] == access["request_id"] and sent["to"] == MASKED


def _items_app() -> Starlette:
    async def item(request: Request) -> PlainTextResponse:
        logging.getLogger("otpservice.test").info("looked up %s", request.path_params["item_id"])
        return PlainTextResponse("ok")

    async def broken(request: Request) -> PlainTextResponse:
        raise RuntimeError(f"database password s3cr3t-value rejected for {NUMBER}")

    return Starlette(
        routes=[Route("/items/{item_id}", item), Route("/broken/{item_id}", broken)], middleware=[Middleware(AccessLog)]
    )


async def test_access_line_has_the_route_template_never_the_raw_path(capture: Any) -> None:
    logs = capture()
    transport = httpx.ASGITransport(app=_items_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/items/VE0123456789abcdef?token=query-token-xyz")
        missing = await client.get("/nothing/here?q=1")
    assert response.status_code == 200 and missing.status_code == 404
    first, second = logs.access()
    assert first["route"] == "/items/{item_id}" and first["status"] == 200
    assert second["route"] == "<unmatched>" and second["status"] == 404
    access_text = json.dumps(logs.access())
    assert "VE0123456789abcdef" not in access_text and "query-token-xyz" not in logs.text


async def test_request_id_is_echoed_when_sane_and_generated_otherwise(capture: Any) -> None:
    logs = capture()
    transport = httpx.ASGITransport(app=_items_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        echoed = await client.get("/items/1", headers={"X-Request-ID": "abc-123.def"})
        too_long = await client.get("/items/2", headers={"X-Request-ID": "x" * 300})
        absent = await client.get("/items/3")
    assert echoed.headers["X-Request-ID"] == "abc-123.def"
    assert len(too_long.headers["X-Request-ID"]) == 32 and "xxx" not in too_long.headers["X-Request-ID"]
    assert absent.headers["X-Request-ID"] != too_long.headers["X-Request-ID"]
    assert [line["request_id"] for line in logs.access()] == [
        "abc-123.def",
        too_long.headers["X-Request-ID"],
        absent.headers["X-Request-ID"],
    ]


async def test_an_unhandled_error_is_a_500_body_and_one_scrubbed_log_line_with_the_request_id(capture: Any) -> None:
    logs = capture("json", ["s3cr3t-value"])
    transport = httpx.ASGITransport(app=_items_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/broken/7", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.json() == {
        "statusCode": 500,
        "error": "Internal Server Error",
        "message": "Internal server error",
        "code": "internal_error",
    }
    assert response.headers["X-Request-ID"] == "req-500"
    [error] = [line for line in logs.lines() if line["message"] == "unhandled error"]
    assert error["request_id"] == "req-500" and error["route"] == "/broken/{item_id}"
    assert "RuntimeError" in error["traceback"] and MASKED in error["traceback"]
    assert "s3cr3t-value" not in logs.text and NUMBER not in logs.text
    [access] = logs.access()
    assert (access["status"], access["request_id"]) == (500, "req-500")


async def test_refused_requests_are_logged_with_their_route(sqlite_url: str, capture: Any) -> None:
    logs = capture()
    async with running_app(make_settings(sqlite_url, api_keys=API_KEY)) as client:
        response = await client.get("/dev/outbox?page=2")
    assert response.status_code == 401
    [access] = logs.access()
    assert (access["route"], access["status"]) == ("/dev/outbox", 401)


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_secrets_and_numbers_are_scrubbed_wherever_they_appear(capture: Any, fmt: str) -> None:
    quoted = 'tok"en\\with-quotes'
    logs = capture(fmt, ["s3cr3t-value", quoted, "abc"])
    log = logging.getLogger("otpservice.test")
    log.info(
        "calling abc with s3cr3t-value for %s",
        "+14155550100",
        extra={"auth": "Bearer s3cr3t-value", "nested": {"token": quoted, "to": "+447700900123"}},
    )
    try:
        raise RuntimeError(f"provider said no to {NUMBER} with key s3cr3t-value")
    except RuntimeError:
        log.exception("failed")
    text = logs.text
    assert "s3cr3t-value" not in text and "with-quotes" not in text
    assert "+14155550100" not in text and "+447700900123" not in text and NUMBER not in text
    assert "+1******0100" in text and "+44******0123" in text and MASKED in text
    assert text.count(REDACTED) >= 4
    assert "RuntimeError" in text  # the traceback is kept, scrubbed
    # Values shorter than the minimum are not treated as secrets: they would blank out words.
    assert "calling abc with ********" in text
    if fmt == "json":
        assert [json.loads(line)["level"] for line in text.splitlines()] == ["info", "error"]


def test_secret_values_come_from_every_secret_setting_and_url_passwords(sqlite_url: str) -> None:
    settings = make_settings(
        sqlite_url,
        **SECRETS,
        kaleyra_api_key="kaleyra-k-1",
        vonage_api_secret="vonage-s-1",
        twilio_api_key_secret="twilio-ks-1",
        rate_limit_storage_url="redis://:redis-pass-1@localhost:6379/0",
    )
    values = set(secret_values(settings))
    expected = {s for value in SECRETS.values() for s in value.split(",")}
    assert expected | {"kaleyra-k-1", "vonage-s-1", "twilio-ks-1", "redis-pass-1"} <= values
