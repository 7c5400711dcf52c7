"""POST /messaging/sms: FluxKit's messaging route (SPEC 15), the same send as POST /send."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from otpservice.api.body import read_json
from otpservice.api.context import services_of
from otpservice.api.openapi import RATE_LIMIT_HEADERS, Schema, errors, json_content, model_schemas, ref, response


class FluxKitSmsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    to: StrictStr
    body: Annotated[StrictStr, Field(min_length=1, max_length=1600)]
    sender: StrictStr | None = Field(None, alias="from", description="Overrides SMS_DEFAULT_SENDER")


async def send_sms(request: Request) -> JSONResponse:
    services = services_of(request)
    payload = await read_json(request, FluxKitSmsRequest)
    result = await services.sms.send(payload.to, payload.body, payload.sender)
    # messageId is our id whether sent or queued: GET /messages/{messageId} follows it.
    return JSONResponse({"messageId": result.message_id, "status": result.status, "channel": "sms",
                         "to": payload.to}, status_code=202 if result.status == "queued" else 200,
                        headers=result.rate_headers)


routes = [Route("/messaging/sms", send_sms, methods=["POST"])]

_RESPONSE: Schema = {"type": "object", "required": ["messageId", "status", "channel", "to"], "properties": {
    "messageId": {"type": "string", "description": "Our message id (GET /messages/{sid})"},
    "status": {"type": "string", "enum": ["sent", "queued", "failed"]},
    "channel": {"type": "string", "enum": ["sms"]},
    "to": {"type": "string"},
}}
OPENAPI_SCHEMAS: dict[str, Schema] = {**model_schemas(FluxKitSmsRequest), "FluxKitSmsResponse": _RESPONSE}
OPENAPI: dict[str, Schema] = {"/messaging/sms": {"post": {
    "summary": "Send one SMS (FluxKit messaging route)", "tags": ["sms"],
    "requestBody": {"required": True, "content": json_content(
        ref("FluxKitSmsRequest"), {"to": "+393331234567", "body": "Hello from otpservice", "from": "ACME"})},
    "responses": {
        "200": response("The provider accepted the message", ref("FluxKitSmsResponse"), RATE_LIMIT_HEADERS),
        "202": response("Queued in our outbox", ref("FluxKitSmsResponse")),
        **errors(400, 402, 403, 429, 500, 502, 504),
    },
}}}
