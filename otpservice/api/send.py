"""POST /send: the reference SMS service's contract."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse

from otpservice import errors
from otpservice.api.body import read_json
from otpservice.api.context import services_of
from otpservice.api.rate import rate_headers
from otpservice.api.routing import RATE_LIMIT_HEADERS, Answer, ApiRoute, mount
from otpservice.clock import iso


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender: Annotated[StrictStr | None, Field(min_length=1, description="Overrides SMS_DEFAULT_SENDER")] = None
    receiver: Annotated[StrictStr, Field(min_length=1, description="E.164 receiver, e.g. +393331234567")]
    body: Annotated[StrictStr, Field(min_length=1, max_length=1600)]
    statusCallback: Annotated[
        StrictStr | None,
        Field(
            max_length=1024,
            pattern=r"^https?://[^\s]+$",
            description="Each status change is POSTed there in Twilio's form fields, signed with "
            "X-Twilio-Signature keyed by the API key this request used",
        ),
    ] = None


class SendResponse(BaseModel):
    dateEvent: datetime
    numSegments: Annotated[str, Field(pattern=r"^[0-9]+$")]
    sid: Annotated[str, Field(description="The provider's message id, or ours when queued")]
    status: Literal["sent", "queued"]


async def send(request: Request) -> JSONResponse:
    payload = await read_json(request, SendRequest)
    services = services_of(request)
    result = await services.sms.send(payload.receiver, payload.body, payload.sender)
    if payload.statusCallback is not None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        credential = token.strip() if scheme.lower() == "bearer" else ""
        await services.messaging.status_callbacks.watch(result.message_id, payload.statusCallback, credential, None)
    return JSONResponse(
        {
            "dateEvent": iso(result.sent_at),
            "numSegments": str(result.segments),
            "sid": result.sid,
            "status": result.status,
        },
        status_code=202 if result.status == "queued" else 200,
        headers=rate_headers(result.rate_window),
    )


# What any send may answer, beyond the checks of its own input.
SEND_ERRORS: tuple[type[errors.OTPServiceError], ...] = (
    errors.InvalidPhoneNumber,
    errors.NumberBlocked,
    errors.RecipientOptedOut,
    errors.CountryNotAllowed,
    errors.InsufficientBalance,
    errors.RateLimited,
    errors.NumberDelayed,
    errors.NumberCapReached,
    errors.BudgetExhausted,
    errors.ProviderRateLimited,
    errors.ProviderError,
    errors.ProviderTimeout,
    errors.LimitsUnavailable,
)

api_routes = [
    ApiRoute(
        "POST",
        "/send",
        send,
        "sendSms",
        "Send one SMS",
        "sms",
        request=SendRequest,
        request_example={"sender": "ACME", "receiver": "+393331234567", "body": "Hello from otpservice"},
        responses={
            200: Answer("The provider accepted the message", SendResponse, headers=RATE_LIMIT_HEADERS),
            202: Answer("Queued in our outbox; `sid` is our message id", SendResponse, headers=RATE_LIMIT_HEADERS),
        },
        errors=(errors.SenderNotAllowed, *SEND_ERRORS),
        idempotent=True,
    ),
]
routes = mount(api_routes)
