"""Request parsing: JSON whatever the Content-Type, validated by a pydantic model."""

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from otpservice.errors import InvalidRequest

Model = TypeVar("Model", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024


async def read_json(request: Request, model: type[Model]) -> Model:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest("request body is too large")
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("body must be valid JSON") from None
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
    return request.client.host if request.client else "unknown"
