"""GET /openapi.json: a valid OpenAPI 3.1 document of exactly the mounted routes."""

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from otpservice.api.openapi import build_document
from otpservice.api.send import SendRequest
from otpservice.app import build_routes
from tests.conftest import AppFactory, make_settings

METHODS = {"get", "post", "put", "patch", "delete"}
# Picked up by build_document because the custom route's endpoint lives in this module.
OPENAPI = {"/custom": {"get": {"summary": "from a route module", "responses": {"200": {"description": "ok"}}}}}


async def _endpoint(request: Request) -> JSONResponse:
    return JSONResponse({})


def _meta_validator() -> Any:
    try:
        from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
    except ImportError:  # schemathesis moved its bundled meta-schema: structural checks still run
        return None
    return OPENAPI_31_VALIDATOR


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def assert_valid(document: dict[str, Any]) -> None:
    validator = _meta_validator()
    if validator is not None:
        errors = [error.message for error in validator.iter_errors(document)]
        assert not errors, errors
    assert document["openapi"] == "3.1.0" and document["info"]["title"]
    schemas = document["components"]["schemas"]
    for key, value in _walk(document):
        if key == "$ref":
            assert value.startswith("#/components/schemas/") and value.rsplit("/", 1)[1] in schemas, value
    for name, schema in schemas.items():
        assert jsonschema_rs.meta.is_valid(schema), name
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            assert operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}, (method, path, status)
                    assert schema["allOf"][1]["properties"]["statusCode"]["const"] == int(status)
                if status == "429":
                    assert response["headers"]["Retry-After"]["required"] is True


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item if method in METHODS}


def _mounted(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    return {(method.lower(), route.path_format) for route in routes if isinstance(route, Route)
            for method in route.methods or () if method != "HEAD"}


async def test_served_document_is_valid_and_covers_every_mounted_route(app_client: AppFactory) -> None:
    async with app_client() as client:
        response = await client.get("/openapi.json")
        document = response.json()
        routes = list(client.app.routes)  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert_valid(document)
    assert _operations(document) == _mounted(routes)
    expected = {("get", "/-/healthz"), ("get", "/metrics"), ("post", "/send"), ("get", "/dev/outbox")}
    assert expected <= _operations(document)


async def test_send_schemas_come_from_the_pydantic_model(app_client: AppFactory) -> None:
    async with app_client() as client:
        document = (await client.get("/openapi.json")).json()
    send = document["paths"]["/send"]["post"]
    body = send["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/SendRequest"}
    assert document["components"]["schemas"]["SendRequest"] == SendRequest.model_json_schema()
    assert SendRequest.model_validate(body["example"])
    ok = document["components"]["schemas"]["SendResponse"]
    assert set(ok["required"]) == {"dateEvent", "numSegments", "sid", "status"}
    assert {"200", "400", "403", "429", "502", "504"} <= set(send["responses"])


def test_console_outbox_is_documented_only_with_the_console_provider(sqlite_url: str) -> None:
    twilio = make_settings(sqlite_url, service_provider="twilio", twilio_account_sid="AC1",
                           twilio_auth_token="token-1")
    assert "/dev/outbox" not in build_document(build_routes(twilio), twilio)["paths"]


def _verify_routes() -> list[BaseRoute]:
    return [Route("/verify/start", _endpoint, methods=["POST"]), Route("/verify/check", _endpoint, methods=["POST"]),
            Route("/verify/{vid}", _endpoint, methods=["GET"]),
            Route("/verify/{vid}/cancel", _endpoint, methods=["POST"])]


def test_verify_routes_are_documented_once_mounted(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url)
    others = [route for route in build_routes(settings) if not getattr(route, "path", "").startswith("/verify")]
    assert "/verify/start" not in build_document(others, settings)["paths"]
    document = build_document([*others, *_verify_routes()], settings)
    assert_valid(document)
    paths = document["paths"]
    start = paths["/verify/start"]["post"]
    assert start["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VerifyStartRequest"}
    assert {"200", "201", "400", "403", "429"} <= set(start["responses"])
    assert {"200", "404", "429"} <= set(paths["/verify/check"]["post"]["responses"])
    detail = document["components"]["schemas"]["VerificationDetail"]["properties"]
    assert {"createdAt", "approvedAt", "deliveryStatus", "expiresAt", "checkAttemptsLeft"} <= set(detail)
    assert "code" not in detail
    # Documented as /verify/{id}: the path parameter takes the name the mounted route gives it.
    assert paths["/verify/{vid}"]["get"]["parameters"][0]["name"] == "vid"
    assert paths["/verify/{vid}/cancel"]["post"]["parameters"][0]["name"] == "vid"


def test_a_route_module_can_describe_its_own_routes(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url)
    document = build_document([*build_routes(settings), Route("/custom", _endpoint, methods=["GET"])], settings)
    assert document["paths"]["/custom"] == OPENAPI["/custom"]
    assert_valid(document)


def test_with_api_keys_the_document_declares_bearer_auth(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, api_keys="k-0123456789")
    document = build_document(build_routes(settings), settings)
    assert_valid(document)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/-/healthz"]["get"]["security"] == []
    assert "401" in document["paths"]["/send"]["post"]["responses"]
    assert "401" not in document["paths"]["/-/ready"]["get"]["responses"]
    assert "k-0123456789" not in str(document)


@pytest.mark.parametrize("broken", [
    {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {"/a": {"get": {"responses": "no"}}},
     "components": {"schemas": {}}},
    {"openapi": "3.1.0", "info": {"title": "x"}, "paths": {}, "components": {"schemas": {}}},
])
def test_the_validity_check_can_fail(broken: dict[str, Any]) -> None:
    if _meta_validator() is None:
        pytest.skip("schemathesis' OpenAPI 3.1 meta-schema is not importable")
    with pytest.raises(AssertionError):
        assert_valid(broken)

