"""Request parsing: JSON whatever the Content-Type, validated by a pydantic model."""

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from otpservice.api.client_address import client_address
from otpservice.errors import InvalidRequest, PayloadTooLarge

Model = TypeVar("Model", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused with 413 past `limit` without reading more than that into memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # what Request.body() caches: later form() / body() reuse it
    return body


def parse_json(raw: bytes) -> object:
    try:
        return json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting is bad input too
        raise InvalidRequest("body must be valid JSON") from None


async def read_json(request: Request, model: type[Model]) -> Model:
    data = parse_json(await read_body(request))
    if not isinstance(data, dict):
        raise InvalidRequest("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "body"
    if error["type"] == "missing":
        return f"body must have required property '{field}'"
    if error["type"] == "extra_forbidden":
        return f"body must NOT have additional property '{field}'"
    return f"body.{field}: {error['msg']}"


def client_ip(request: Request) -> str:
    """The address per-client caps count (TRUSTED_PROXIES decides whose X-Forwarded-For counts)."""
    return client_address(request, request.app.state.settings.trusted_networks)
