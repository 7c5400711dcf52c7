"""GET /openapi.json: the OpenAPI 3.1 document, built from the route table (api/routing.py),
the pydantic models that validate, the error classes of errors.py and their statuses (the table
of api/errors.py). Nothing here is kept by hand per route: add a route to the table and it is
documented."""

import re
from collections import defaultdict
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse

from otpservice import errors
from otpservice.api.errors import status_of
from otpservice.api.routing import RATE_LIMIT_HEADERS, Answer, ApiRoute
from otpservice.errors import LimitsUnavailable, OTPServiceError, RateLimited

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"
SECURITY_SCHEMES: dict[str, Schema] = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "One of API_KEYS"},
    "adminBearerAuth": {"type": "http", "scheme": "bearer", "description": "One of ADMIN_API_KEYS"},
    "basicAuth": {
        "type": "http",
        "scheme": "basic",
        "description": "Any user name (your account SID), one of API_KEYS as the password",
    },
}
SECURITY = {"api_key": "bearerAuth", "admin_key": "adminBearerAuth", "basic": "basicAuth"}
HEADERS: dict[str, Schema] = {
    "Retry-After": {
        "required": True,
        "description": "Whole seconds until it may succeed",
        "schema": {"type": "integer", "minimum": 1},
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed per window (RATE_LIMIT_MAX_REQUESTS)",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {"description": "Requests left in this window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "Seconds to the window's end", "schema": {"type": "integer"}},
}
_PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def error_classes() -> list[type[OTPServiceError]]:
    """Every error class errors.py defines (the base included: 500 internal_error)."""
    return [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, OTPServiceError)]


def error_codes() -> list[str]:
    return sorted({cls.code for cls in error_classes()})


def error_schema() -> Schema:
    return {
        "type": "object",
        "title": "Error",
        "description": "The body of every error of the native API, whatever produced it.",
        "required": ["statusCode", "error", "message", "code"],
        "properties": {
            "statusCode": {"type": "integer", "description": "The HTTP status, repeated"},
            "error": {"type": "string", "description": "The HTTP reason phrase"},
            "message": {"type": "string", "description": "Human-readable text"},
            "code": {"type": "string", "enum": error_codes(), "description": "Stable machine code"},
            "scope": {
                "type": "string",
                "description": "A refusal's scope, e.g. `global` or `country` (`budget_exhausted`)",
            },
            "key": {"type": "string", "description": "The refused key within the scope, e.g. `*` or `GB`"},
        },
    }


def _ref(model: type[BaseModel]) -> Schema:
    return {"$ref": REF.format(model=model.__name__)}


def _components(api_routes: list[ApiRoute]) -> dict[str, Schema]:
    """Component schemas of every model the table names, from pydantic's JSON Schema."""
    inputs = {api.request for api in api_routes if api.request is not None}
    outputs = {answer.model for api in api_routes for answer in api.responses.values() if answer.model}
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "validation") for model in inputs] + [
        (model, "serialization") for model in outputs
    ]
    names = [model.__name__ for model in {*inputs, *outputs}]
    duplicated = {name for name in names if names.count(name) > 1}
    if duplicated:  # the generated clients would lose one of them
        raise ValueError(f"two models share a name in the route table: {sorted(duplicated)}")
    _, defs = models_json_schema(sorted(pairs, key=lambda pair: pair[0].__name__), ref_template=REF)
    return dict(sorted(defs.get("$defs", {}).items()))


def _content(answer: Answer) -> Schema:
    schema = _ref(answer.model) if answer.model else {"type": "string"}
    return {answer.media_type: {"schema": schema}}


def _answer(answer: Answer) -> Schema:
    result: Schema = {"description": answer.description}
    if answer.model or answer.media_type != "application/json":
        result["content"] = _content(answer)
    if answer.headers:
        result["headers"] = {name: HEADERS[name] for name in answer.headers}
    return result


def _error_responses(api: ApiRoute) -> dict[str, Schema]:
    by_status: dict[int, list[str]] = defaultdict(list)
    for cls in api.all_errors():
        if cls.code not in by_status[status_of(cls)]:
            by_status[status_of(cls)].append(cls.code)
    responses: dict[str, Schema] = {}
    for status, codes in sorted(by_status.items()):
        result: Schema = {
            "description": "`code`: " + ", ".join(f"`{code}`" for code in codes),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
        retry = status == 429 or any(
            issubclass(cls, LimitsUnavailable) for cls in api.all_errors() if status_of(cls) == status
        )
        headers = ["Retry-After"] if retry else []
        if status == 429 and any(issubclass(cls, RateLimited) for cls in api.all_errors()):
            headers += RATE_LIMIT_HEADERS
        if headers:
            result["headers"] = {name: HEADERS[name] for name in headers}
        responses[str(status)] = result
    return responses


def _parameters(api: ApiRoute) -> list[Schema]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            **({"description": api.path_params[name]} if name in api.path_params else {}),
        }
        for name in _PATH_PARAM.findall(api.path)
    ]
    if api.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "The same key with the same body within 24 h replays the first answer and "
                "sends nothing; with another body 422 `idempotency_key_reused`; while the first runs, "
                "409 `idempotency_in_progress`.",
            }
        )
    if api.query is not None:
        schema = api.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            description = prop.pop("description", None)
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", []),
                    "schema": prop,
                    **({"description": description} if description else {}),
                }
            )
    return parameters


def operation(api: ApiRoute) -> Schema:
    result: Schema = {"operationId": api.operation_id, "summary": api.summary, "tags": [api.tag]}
    if api.description:
        result["description"] = api.description
    parameters = _parameters(api)
    if parameters:
        result["parameters"] = parameters
    if api.request is not None:
        media: Schema = {"schema": _ref(api.request)}
        if api.request_example is not None:
            media["example"] = dict(api.request_example)
        result["requestBody"] = {"required": True, "content": dict.fromkeys(api.request_media, media)}
    responses = {str(status): _answer(answer) for status, answer in sorted(api.responses.items())}
    result["responses"] = {**responses, **_error_responses(api)}
    result["security"] = [{SECURITY[api.auth]: []}] if api.auth in SECURITY else []
    return result


def build_document(api_routes: list[ApiRoute]) -> Schema:
    """The whole document; it depends on the code alone, never on the configuration."""
    paths: dict[str, Schema] = defaultdict(dict)
    for api in api_routes:
        path = _PATH_PARAM.sub(r"{\1}", api.path)
        if api.method.lower() in paths[path]:
            raise ValueError(f"{api.method} {path} is declared twice in the route table")
        paths[path][api.method.lower()] = operation(api)
    operation_ids = [api.operation_id for api in api_routes]
    if len(set(operation_ids)) != len(operation_ids):
        raise ValueError("operationIds must be unique")
    used = {SECURITY[api.auth] for api in api_routes if api.auth in SECURITY}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "otpservice",
            "version": _version(),
            "description": "SMS sending and phone verification. Every error of the native API has the "
            "body `Error`; a wrong method on a known path answers 405 "
            "`method_not_allowed`, an unknown path 404 `not_found`.",
        },
        "paths": dict(paths),
        "components": {
            "schemas": {"Error": error_schema(), **_components(api_routes)},
            "securitySchemes": {name: scheme for name, scheme in SECURITY_SCHEMES.items() if name in used},
        },
    }


def _version() -> str:
    try:
        return version("otpservice")
    except PackageNotFoundError:
        return "0"


async def openapi_json(request: Request) -> JSONResponse:
    document = getattr(request.app.state, "openapi", None)
    if document is None:
        document = build_document(request.app.state.api_routes)
        request.app.state.openapi = document
    return JSONResponse(document)
