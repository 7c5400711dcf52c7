"""POST /messaging/sms: FluxKit's messaging route (SPEC 15), the same send as POST /send."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse

from otpservice.api.body import read_json
from otpservice.api.context import services_of
from otpservice.api.rate import rate_headers
from otpservice.api.routing import RATE_LIMIT_HEADERS, Answer, ApiRoute, mount
from otpservice.api.send import SEND_ERRORS


class FluxKitSmsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    to: Annotated[StrictStr, Field(min_length=1, description="E.164 receiver, e.g. +393331234567")]
    body: Annotated[StrictStr, Field(min_length=1, max_length=1600)]
    sender: StrictStr | None = Field(None, alias="from", min_length=1, description="Overrides SMS_DEFAULT_SENDER")


class FluxKitSmsResponse(BaseModel):
    messageId: Annotated[str, Field(description="Our message id (GET /messages/{messageId})")]
    status: Literal["sent", "queued", "failed"]
    channel: Literal["sms"]
    to: str


async def send_sms(request: Request) -> JSONResponse:
    services = services_of(request)
    payload = await read_json(request, FluxKitSmsRequest)
    result = await services.sms.send(payload.to, payload.body, payload.sender, fields=("to", "from"))
    # messageId is our id whether sent or queued: GET /messages/{messageId} follows it.
    return JSONResponse(
        {"messageId": result.message_id, "status": result.status, "channel": "sms", "to": payload.to},
        status_code=202 if result.status == "queued" else 200,
        headers=rate_headers(result.rate_window),
    )


api_routes = [
    ApiRoute(
        "POST",
        "/messaging/sms",
        send_sms,
        "sendFluxKitSms",
        "Send one SMS (FluxKit messaging route)",
        "sms",
        request=FluxKitSmsRequest,
        request_example={"to": "+393331234567", "body": "Hello from otpservice", "from": "ACME"},
        responses={
            200: Answer("Sent", FluxKitSmsResponse, headers=RATE_LIMIT_HEADERS),
            202: Answer("Queued in our outbox", FluxKitSmsResponse, headers=RATE_LIMIT_HEADERS),
        },
        errors=SEND_ERRORS,
        idempotent=True,
    ),
]
routes = mount(api_routes)
