"""GET /openapi.json: an OpenAPI 3.1 document of the routes this app actually serves.

The default path items live in openapi_paths.py. A route module may describe its own
routes instead: a module that defines `OPENAPI` (path -> path item) and, optionally,
`OPENAPI_SCHEMAS` (name -> JSON schema, e.g. from `model_schemas(...)`) has them merged
in, its path items replacing the defaults of the same path. Operations whose route is
not mounted (a feature not built, /dev/outbox without the console provider) are left out,
so the document never promises a route that answers 404.
"""

import re
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from otpservice.api.middleware import OPEN_PREFIXES
from otpservice.settings import Settings

Schema = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

ERROR_CODES: dict[int, str] = {
    400: "invalid_request, invalid_phone_number",
    401: "unauthorized",
    402: "insufficient_balance",
    403: "sender_not_allowed, number_blocked, country_not_allowed, number_type_not_allowed, invalid_signature",
    404: "not_found, verification_not_found, message_not_found",
    405: "method_not_allowed",
    429: "rate_limited, number_delayed, number_cap_reached, ip_rate_limited, max_sends_reached, "
         "max_attempts_reached, provider_rate_limited, destination_suspended",
    500: "internal_error",
    502: "provider_error",
    503: "not_ready, limits_unavailable",
    504: "provider_error (the provider timed out)",
}

ERROR_SCHEMA: Schema = {
    "type": "object",
    "description": "The body of every error, whatever produced it.",
    "required": ["statusCode", "error", "message", "code"],
    "additionalProperties": False,
    "properties": {
        "statusCode": {"type": "integer", "description": "The HTTP status, repeated"},
        "error": {"type": "string", "description": "The HTTP reason phrase"},
        "message": {"type": "string", "description": "Human-readable text"},
        "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "Stable machine code"},
    },
}

RATE_LIMIT_HEADERS: Schema = {
    "X-RateLimit-Limit": {"description": "Requests allowed per window", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in this window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "Seconds to the window's end", "schema": {"type": "integer"}},
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: Schema, example: Any = None) -> Schema:
    media: Schema = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def response(description: str, schema: Schema | None = None, headers: Schema | None = None) -> Schema:
    result: Schema = {"description": description}
    if schema is not None:
        result["content"] = json_content(schema)
    if headers:
        result["headers"] = headers
    return result


def errors(*statuses: int) -> dict[str, Schema]:
    """Error responses whose `statusCode` must equal the HTTP status; 429s carry Retry-After."""
    result: dict[str, Schema] = {}
    for status in statuses:
        schema = {"allOf": [ref("Error"), {"properties": {"statusCode": {"const": status}}}]}
        headers: Schema = {}
        if status == 429:
            headers = {"Retry-After": {"required": True, "description": "Whole seconds until it may succeed",
                                       "schema": {"type": "integer", "minimum": 1}}}
        result[str(status)] = response(f"`code`: {ERROR_CODES[status]}", schema, headers)
    return result


def model_schemas(*models: type[BaseModel]) -> dict[str, Schema]:
    """Component schemas of pydantic models (their nested models included)."""
    schemas: dict[str, Schema] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


_PARAM = re.compile(r"\{([^}]+)\}")


def _mounted(routes: list[BaseRoute]) -> dict[str, tuple[str, set[str]]]:
    """Path shape (`/verify/{}`) -> (the mounted path, its methods)."""
    mounted: dict[str, tuple[str, set[str]]] = {}
    for route in routes:
        if isinstance(route, Route):
            _, methods = mounted.setdefault(_PARAM.sub("{}", route.path_format), (route.path_format, set()))
            methods.update(m.lower() for m in route.methods or ())
    return mounted


def _renamed(operation: Schema, documented: str, actual: str) -> Schema:
    """The operation with its path parameters named as the mounted route names them."""
    names = dict(zip(_PARAM.findall(documented), _PARAM.findall(actual)))
    if not names or all(k == v for k, v in names.items()):
        return dict(operation)
    parameters = [{**p, "name": names.get(p["name"], p["name"])} if p.get("in") == "path" else p
                  for p in operation.get("parameters", [])]
    return {**operation, "parameters": parameters}


def _module_parts(routes: list[BaseRoute]) -> tuple[dict[str, Schema], dict[str, Schema]]:
    paths: dict[str, Schema] = {}
    schemas: dict[str, Schema] = {}
    names = {getattr(route.endpoint, "__module__", None) for route in routes if isinstance(route, Route)}
    for name in sorted(name for name in names if name):
        module = sys.modules.get(name)
        paths.update(getattr(module, "OPENAPI", {}))
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return paths, schemas


def build_document(routes: list[BaseRoute], settings: Settings) -> Schema:
    from otpservice.api.openapi_paths import default_paths, default_schemas

    module_paths, module_schemas = _module_parts(routes)
    documented = {**default_paths(), **module_paths}
    mounted = _mounted(routes)
    secured = bool(settings.api_keys)
    paths: dict[str, Schema] = {}
    for documented_path, item in documented.items():
        path, methods = mounted.get(_PARAM.sub("{}", documented_path), (documented_path, set()))
        operations = {m: _renamed(op, documented_path, path) for m, op in item.items()
                      if m in HTTP_METHODS and m in methods}
        for operation in operations.values():
            if secured and path.startswith(OPEN_PREFIXES):
                operation["security"] = []
            elif secured:
                operation["responses"] = {**operation["responses"], **errors(401)}
        if operations:
            paths[path] = {**{k: v for k, v in item.items() if k not in HTTP_METHODS}, **operations}
    document: Schema = {
        "openapi": "3.1.0",
        "info": {"title": "otpservice", "version": _version(),
                 "description": "SMS sending and phone verification. Every error has the body `Error`."},
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA, **default_schemas(), **module_schemas}},
    }
    if secured:
        document["components"]["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearerAuth": []}]
    return document


def _version() -> str:
    try:
        return version("otpservice")
    except PackageNotFoundError:
        return "0"


async def openapi_json(request: Request) -> JSONResponse:
    document = getattr(request.app.state, "openapi", None)
    if document is None:
        document = build_document(list(request.app.routes), request.app.state.settings)
        request.app.state.openapi = document
    return JSONResponse(document)


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
