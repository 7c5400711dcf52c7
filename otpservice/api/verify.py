"""Phone verification routes: POST /verify/start, POST /verify/check, GET /verify/{id},
POST /verify/{id}/cancel (SPEC section 2)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from otpservice.api.body import client_ip, read_json
from otpservice.api.context import services_of
from otpservice.clock import iso
from otpservice.errors import InvalidRequest, MethodNotAllowed
from otpservice.verify.views import VerificationView

# Android SMS Retriever: an 11-character hash of the app's package and signing key.
APP_HASH_PATTERN = r"^[A-Za-z0-9+/]{11}$"
CODE_PATTERN = r"^[0-9]{4,10}$"


class StartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: StrictStr
    channel: Literal["sms"] = "sms"
    locale: Annotated[StrictStr, Field(min_length=1, max_length=35)] | None = None
    app_hash: Annotated[StrictStr, Field(pattern=APP_HASH_PATTERN)] | None = Field(None, alias="appHash")


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: StrictStr | None = None
    id: StrictStr | None = None
    code: Annotated[StrictStr, Field(pattern=CODE_PATTERN)]


async def start(request: Request) -> JSONResponse:
    services = services_of(request)
    payload = await read_json(request, StartRequest)
    outcome = await services.verify.start(payload.to, client_ip=client_ip(request), locale=payload.locale,
                                          app_hash=payload.app_hash)
    return JSONResponse(start_fields(outcome.verification), status_code=201 if outcome.created else 200,
                        headers=outcome.rate_headers)


async def check(request: Request) -> JSONResponse:
    services = services_of(request)
    payload = await read_json(request, CheckRequest)
    if (payload.to is None) == (payload.id is None):
        raise InvalidRequest("body must have exactly one of 'to' or 'id'")
    outcome = await services.verify.check(payload.code, client_ip=client_ip(request),
                                          verification_id=payload.id, to=payload.to)
    found = outcome.verification
    return JSONResponse({"id": found.id, "to": found.to, "status": found.status, "valid": outcome.valid,
                         "checkAttemptsLeft": found.check_attempts_left})


async def lookup(request: Request) -> JSONResponse:
    if request.path_params["verification_id"] in ("start", "check"):
        raise MethodNotAllowed()  # GET /verify/start is a wrong method, not an unknown id
    found = await services_of(request).verify.get(request.path_params["verification_id"])
    return JSONResponse(detail_fields(found))


async def cancel(request: Request) -> JSONResponse:
    canceled = await services_of(request).verify.cancel(request.path_params["verification_id"])
    return JSONResponse(detail_fields(canceled))


def start_fields(found: VerificationView) -> dict[str, Any]:
    return {
        "id": found.id,
        "to": found.to,
        "channel": found.channel,
        "status": found.status,
        "expiresAt": iso(found.expires_at),
        "sendAttempts": found.send_attempts,
        "canResendAt": iso(found.can_resend_at),
        "checkAttemptsLeft": found.check_attempts_left,
    }


def detail_fields(found: VerificationView) -> dict[str, Any]:
    return {
        **start_fields(found),
        "createdAt": iso(found.created_at),
        "approvedAt": iso(found.approved_at) if found.approved_at is not None else None,
        "deliveryStatus": found.delivery_status,
    }


routes: list[BaseRoute] = [
    Route("/verify/start", start, methods=["POST"]),
    Route("/verify/check", check, methods=["POST"]),
    Route("/verify/{verification_id}", lookup, methods=["GET"]),
    Route("/verify/{verification_id}/cancel", cancel, methods=["POST"]),
]
