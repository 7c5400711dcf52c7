"""GET /messages/{sid}: a message's record and status history (number always masked)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from otpservice.api.context import services_of
from otpservice.api.routing import Answer, ApiRoute, mount
from otpservice.clock import iso
from otpservice.core.phone import mask_phone
from otpservice.errors import MessageNotFound

MessageState = Literal["queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled", "ambiguous"]


class MessageEvent(BaseModel):
    status: MessageState
    at: datetime
    provider: str | None
    detail: Annotated[str | None, Field(description="Scrubbed provider detail (never the message body)")]


class Message(BaseModel):
    id: str
    sid: str
    provider: str
    to: Annotated[str, Field(description="Masked: +39******4567")]
    from_: Annotated[str | None, Field(alias="from")]
    status: MessageState
    providerStatus: str | None
    numSegments: Annotated[str, Field(pattern=r"^[0-9]+$")]
    attempts: int
    errorCode: str | None
    errorMessage: str | None
    verificationId: str | None
    createdAt: datetime
    updatedAt: datetime
    history: list[MessageEvent]


async def get_message(request: Request) -> JSONResponse:
    services = services_of(request)
    sid = request.path_params["sid"]
    message = None if len(sid) > 64 or "\x00" in sid else await services.messages.get(sid)
    if message is None:
        raise MessageNotFound()
    history = await services.messages.history(message.id)
    return JSONResponse(
        {
            "id": message.id,
            "sid": message.provider_sid or message.id,
            "provider": message.provider,
            "to": mask_phone(message.receiver),
            "from": message.sender,
            "status": message.status,
            "providerStatus": message.provider_status,
            "numSegments": str(message.segments),
            "attempts": message.attempts,
            "errorCode": message.error_code,
            "errorMessage": message.error_message,
            "verificationId": message.verification_id,
            "createdAt": iso(message.created_at.timestamp()),
            "updatedAt": iso(message.updated_at.timestamp()),
            # `detail` was scrubbed of the message body before it was stored.
            "history": [
                {
                    "status": event.status,
                    "at": iso(event.created_at.timestamp()),
                    "provider": event.provider,
                    "detail": event.detail,
                }
                for event in history
            ],
        }
    )


api_routes = [
    ApiRoute(
        "GET",
        "/messages/{sid}",
        get_message,
        "getMessage",
        "A message's record and status history",
        "sms",
        path_params={"sid": "Either id that /send returned"},
        responses={200: Answer("The message (number masked)", Message)},
        errors=(MessageNotFound,),
    ),
]
routes = mount(api_routes)
