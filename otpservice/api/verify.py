"""Phone verification routes: POST /verify/start, POST /verify/check, GET /verify/{id},
POST /verify/{id}/cancel (SPEC section 2)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse

from otpservice import errors
from otpservice.api.body import client_ip, read_json
from otpservice.api.context import services_of
from otpservice.api.rate import rate_headers
from otpservice.api.routing import RATE_LIMIT_HEADERS, Answer, ApiRoute, mount
from otpservice.api.send import SEND_ERRORS
from otpservice.clock import iso
from otpservice.errors import InvalidRequest, MethodNotAllowed
from otpservice.verify.views import VerificationView

# Android SMS Retriever: an 11-character hash of the app's package and signing key.
APP_HASH_PATTERN = r"^[A-Za-z0-9+/]{11}$"
CODE_PATTERN = r"^[0-9]{4,10}$"


CHANNEL = Literal["sms", "whatsapp", "call", "email"]
PHONE_CHANNEL = Literal["sms", "whatsapp", "call"]


class VerifyStartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Annotated[
        StrictStr,
        Field(min_length=1, max_length=320, description="E.164 number, e.g. +393331234567 (email: an address)"),
    ]
    channel: CHANNEL = "sms"
    fallback: Annotated[
        list[PHONE_CHANNEL],
        Field(max_length=1, description="The channel the same code goes on, once, when the first send is refused"),
    ] = []
    locale: Annotated[StrictStr, Field(min_length=1, max_length=35)] | None = None
    app_hash: Annotated[StrictStr, Field(pattern=APP_HASH_PATTERN)] | None = Field(None, alias="appHash")


class VerifyCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: StrictStr | None = None
    id: StrictStr | None = None
    code: Annotated[StrictStr, Field(pattern=CODE_PATTERN)]


VERIFICATION_STATES = Literal["pending", "approved", "canceled", "expired", "failed", "max_attempts_reached"]


class Verification(BaseModel):
    id: Annotated[str, Field(pattern=r"^VE[0-9a-f]{32}$")]
    to: Annotated[str, Field(description="E.164, or an email address (channel email)")]
    channel: Annotated[CHANNEL, Field(description="The channel asked for (a fallback shows in the console only)")]
    status: VERIFICATION_STATES
    expiresAt: datetime
    sendAttempts: Annotated[int, Field(ge=0)]
    canResendAt: datetime
    checkAttemptsLeft: Annotated[int, Field(ge=0)]
    locale: Annotated[str, Field(description="The language of the message: the one asked for, or en")]


class VerificationDetail(Verification):
    createdAt: datetime
    approvedAt: datetime | None
    deliveryStatus: Annotated[str | None, Field(description="State of the last SMS")]


class VerifyCheckResponse(BaseModel):
    id: Annotated[str, Field(pattern=r"^VE[0-9a-f]{32}$")]
    to: str
    status: Literal["approved", "pending", "max_attempts_reached"]
    valid: bool
    checkAttemptsLeft: Annotated[int, Field(ge=0)]


async def start(request: Request) -> JSONResponse:
    services = services_of(request)
    payload = await read_json(request, VerifyStartRequest)
    outcome = await services.verify.start(
        payload.to,
        client_ip=client_ip(request),
        locale=payload.locale,
        app_hash=payload.app_hash,
        channel=payload.channel,
        fallback=tuple(payload.fallback),
    )
    return JSONResponse(
        start_fields(outcome.verification),
        status_code=201 if outcome.created else 200,
        headers=rate_headers(outcome.rate_window),
    )


async def check(request: Request) -> JSONResponse:
    services = services_of(request)
    payload = await read_json(request, VerifyCheckRequest)
    if (payload.to is None) == (payload.id is None):
        raise InvalidRequest("body must have exactly one of 'to' or 'id'")
    outcome = await services.verify.check(
        payload.code, client_ip=client_ip(request), verification_id=payload.id, to=payload.to
    )
    found = outcome.verification
    return JSONResponse(
        {
            "id": found.id,
            "to": found.to,
            "status": found.status,
            "valid": outcome.valid,
            "checkAttemptsLeft": found.check_attempts_left,
        }
    )


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
        "locale": found.locale,
    }


def detail_fields(found: VerificationView) -> dict[str, Any]:
    return {
        **start_fields(found),
        "createdAt": iso(found.created_at),
        "approvedAt": iso(found.approved_at) if found.approved_at is not None else None,
        "deliveryStatus": found.delivery_status,
    }


ID_PARAM = {"verification_id": "Verification id (VE + 32 hex)"}
CHECK_ERRORS = (
    errors.InvalidPhoneNumber,
    errors.VerificationNotFound,
    errors.IpRateLimited,
    errors.MaxAttemptsReached,
    errors.LimitsUnavailable,
)
START_ERRORS = (
    *SEND_ERRORS,
    errors.ChannelUnavailable,
    errors.InvalidEmail,
    errors.NumberTypeNotAllowed,
    errors.IpRateLimited,
    errors.MaxSendsReached,
    errors.MaxAttemptsReached,
)

api_routes = [
    ApiRoute(
        "POST",
        "/verify/start",
        start,
        "startVerification",
        "Start a verification (or re-send the pending one's code)",
        "verify",
        request=VerifyStartRequest,
        request_example={"to": "+393339876543"},
        responses={
            201: Answer("A new verification", Verification, headers=RATE_LIMIT_HEADERS),
            200: Answer("The pending verification, its same code sent again", Verification, headers=RATE_LIMIT_HEADERS),
        },
        errors=START_ERRORS,
        idempotent=True,
        description="429 `max_attempts_reached`: the number's verification spent its checks; a new one "
        "can start after its `expiresAt` (the Retry-After).",
    ),
    ApiRoute(
        "POST",
        "/verify/check",
        check,
        "checkVerification",
        "Check a code",
        "verify",
        request=VerifyCheckRequest,
        request_example={"to": "+393331234567", "code": "123456"},
        responses={200: Answer("Checked; `valid` tells the result", VerifyCheckResponse)},
        errors=CHECK_ERRORS,
        description="Exactly one of `to` and `id`.",
    ),
    ApiRoute(
        "GET",
        "/verify/{verification_id}",
        lookup,
        "getVerification",
        "A verification, in any state",
        "verify",
        path_params=ID_PARAM,
        responses={200: Answer("The verification", VerificationDetail)},
        errors=(errors.VerificationNotFound, MethodNotAllowed),
    ),
    ApiRoute(
        "POST",
        "/verify/{verification_id}/cancel",
        cancel,
        "cancelVerification",
        "Cancel a pending verification",
        "verify",
        path_params=ID_PARAM,
        responses={200: Answer("The canceled verification", VerificationDetail)},
        errors=(errors.VerificationNotFound,),
    ),
]
routes = mount(api_routes)
