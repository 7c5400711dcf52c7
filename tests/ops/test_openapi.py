"""/openapi.json: built from the route table, equal to the app's routes and the error table,
the same under every configuration."""

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from otpservice.api.errors import HTTP_EXCEPTION_CODES, status_of
from otpservice.api.openapi import build_document, error_classes
from otpservice.api.routing import Answer, ApiRoute, DocumentedRoute
from otpservice.api.send import SendRequest
from otpservice.api.verify import VerifyStartRequest
from otpservice.app import API_ROUTES, build_routes
from otpservice.errors import LimitsUnavailable, OTPServiceError
from tests.conftest import AppFactory, make_settings

METHODS = {"get", "post", "put", "patch", "delete"}
CONFIGURATIONS: list[dict[str, Any]] = [
    {},
    {"api_keys": "k-0123456789"},
    {"docs_enabled": False},
    {
        "service_provider": "twilio",
        "twilio_account_sid": "AC1",
        "twilio_auth_token": "token-1",
        "public_base_url": "https://otp.example.com",
        "webhook_secret": "hook",
    },
]


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
        assert "__" not in name, f"{name}: two models share a name"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert method in METHODS and operation["operationId"], (method, path)
            for status, response in operation["responses"].items():
                if status[0] in "45" and not path.startswith("/v2/"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
                if status == "429":
                    assert response["headers"]["Retry-After"]["required"] is True


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


def undocumented(routes: list[BaseRoute]) -> list[str]:
    """Mounted routes that are neither in the route table nor explicitly left out."""
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found += [f"{route.path}{name}" for name in undocumented(list(route.routes))]
        elif isinstance(route, Route) and route.include_in_schema and not isinstance(route, DocumentedRoute):
            found.append(route.path)
        elif not isinstance(route, Route | Mount):
            found.append(repr(route))
    return found


def documented(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            pairs |= {(method, route.path + path) for method, path in documented(list(route.routes))}
        elif isinstance(route, DocumentedRoute):
            pairs.add((route.api.method.lower(), route.path))
    return pairs


@pytest.mark.parametrize("overrides", CONFIGURATIONS)
async def test_the_document_is_the_apps_routes_whatever_the_configuration(
    sqlite_url: str, overrides: dict[str, Any]
) -> None:
    from tests.conftest import running_app

    settings = make_settings(sqlite_url, **overrides)
    async with running_app(settings) as client:
        headers = {"Authorization": "Bearer k-0123456789"}
        response = await client.get("/openapi.json", headers=headers)
        routes = list(client.app.routes)  # type: ignore[attr-defined]
    assert response.status_code == 200
    document = response.json()
    assert document == build_document(API_ROUTES)  # never varies with the configuration
    assert_valid(document)
    assert undocumented(routes) == []
    assert operations(document) == documented(routes)


def test_a_route_outside_the_table_is_caught_unless_explicitly_left_out(sqlite_url: str) -> None:
    routes = build_routes(make_settings(sqlite_url))
    assert undocumented([*routes, Route("/sneaky", _endpoint)]) == ["/sneaky"]
    assert undocumented([*routes, Mount("/admin", routes=[Route("/page", _endpoint)])]) == ["/admin/page"]
    assert undocumented([*routes, Route("/page", _endpoint, include_in_schema=False)]) == []


def test_every_declared_error_is_documented_with_its_status_and_code() -> None:
    document = build_document(API_ROUTES)
    for api in API_ROUTES:
        responses = document["paths"][api.path][api.method.lower()]["responses"]
        for error in api.all_errors():
            assert f"`{error.code}`" in responses[str(status_of(error))]["description"], (api.path, error)
        for status in responses:
            assert int(status) in api.responses or any(status_of(e) == int(status) for e in api.all_errors())


def test_error_code_is_the_enum_of_the_codes_that_exist() -> None:
    enum = build_document(API_ROUTES)["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
    assert set(enum) == {cls.code for cls in error_classes()}
    assert {
        "rate_limited",
        "verification_not_found",
        "unauthorized",
        "limits_unavailable",
        "method_not_allowed",
        "payload_too_large",
        "internal_error",
    } <= set(enum)
    assert set(HTTP_EXCEPTION_CODES.values()) <= set(enum)  # what Starlette's own errors become


def test_the_statuses_section_13_names_are_there() -> None:
    document = build_document(API_ROUTES)
    paths = document["paths"]
    send, start = paths["/send"]["post"], paths["/verify/start"]["post"]
    for operation in (send, start):
        assert {"400", "401", "413", "429", "500", "502", "503", "504"} <= set(operation["responses"])
        assert operation["security"] == [{"bearerAuth": []}]
        assert set(operation["responses"]["429"]["headers"]) == {
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        }
    assert "X-RateLimit-Reset" in send["responses"]["200"]["headers"]
    assert "X-RateLimit-Reset" in start["responses"]["201"]["headers"]
    assert "405" in paths["/verify/{verification_id}"]["get"]["responses"]
    assert "503" in paths["/-/ready"]["get"]["responses"]
    assert paths["/-/healthz"]["get"]["security"] == [] and "401" not in paths["/-/healthz"]["get"]["responses"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert {"sendSms", "startVerification", "checkVerification", "getVerification"} <= set(ids)


def test_bodies_are_pydantics_json_schema() -> None:
    document = build_document(API_ROUTES)
    schemas = document["components"]["schemas"]
    assert schemas["SendRequest"] == SendRequest.model_json_schema()
    assert schemas["VerifyStartRequest"] == VerifyStartRequest.model_json_schema()
    body = document["paths"]["/send"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/SendRequest"}
    assert SendRequest.model_validate(body["example"])
    assert "locale" in schemas["Verification"]["required"]


async def test_the_documented_405_and_503_are_real(app_client: AppFactory) -> None:
    async with app_client() as client:
        wrong = await client.get("/verify/start")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    assert status_of(LimitsUnavailable) == 503 and issubclass(LimitsUnavailable, OTPServiceError)


class TwilioError(BaseModel):
    code: int
    message: str
    more_info: str
    status: int


def test_a_route_with_its_own_error_body_documents_exactly_what_it_declares() -> None:
    twilio_like = ApiRoute(
        "POST",
        "/v2/Things",
        _endpoint,
        "createThing",
        "x",
        "twilio",
        auth="basic",
        native_errors=False,
        request=Twin,
        request_media=("application/x-www-form-urlencoded",),
        responses={
            201: Answer("made", Twin),
            401: Answer("20003", TwilioError),
            429: Answer("60203", TwilioError, headers=("Retry-After",)),
        },
    )
    document = build_document([*API_ROUTES, twilio_like])
    assert_valid(document)
    operation = document["paths"]["/v2/Things"]["post"]
    assert set(operation["responses"]) == {"201", "401", "429"}
    assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TwilioError"
    }
    assert operation["security"] == [{"basicAuth": []}]
    assert document["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]


class Twin(BaseModel):
    value: int


def test_two_models_of_one_name_are_refused() -> None:
    other = type("Twin", (BaseModel,), {"__annotations__": {"other": str}})
    table = [
        ApiRoute("POST", f"/{n}", _endpoint, f"op{n}", "x", "t", request=model, responses={200: Answer("ok")})
        for n, model in enumerate((Twin, other))
    ]
    with pytest.raises(ValueError, match="share a name"):
        build_document(table)


@pytest.mark.parametrize(
    "broken",
    [
        {
            "openapi": "3.1.0",
            "info": {"title": "x", "version": "1"},
            "paths": {"/a": {"get": {"responses": "no"}}},
            "components": {"schemas": {}},
        },
        {"openapi": "3.1.0", "info": {"title": "x"}, "paths": {}, "components": {"schemas": {}}},
    ],
)
def test_the_validity_check_can_fail(broken: dict[str, Any]) -> None:
    if _meta_validator() is None:
        pytest.skip("schemathesis' OpenAPI 3.1 meta-schema is not importable")
    with pytest.raises(AssertionError):
        assert_valid(broken)
