"""POST /send: the reference SMS service's contract."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from otpservice.api.body import read_json
from otpservice.api.context import services_of
from otpservice.clock import iso


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender: StrictStr | None = None
    receiver: StrictStr
    body: Annotated[StrictStr, Field(min_length=1, max_length=1600)]


async def send(request: Request) -> JSONResponse:
    payload = await read_json(request, SendRequest)
    result = await services_of(request).sms.send(payload.receiver, payload.body, payload.sender)
    return JSONResponse({
        "dateEvent": iso(result.sent_at),
        "numSegments": str(result.segments),
        "sid": result.sid,
        "status": result.status,
    }, status_code=202 if result.status == "queued" else 200, headers=result.rate_headers)


routes = [Route("/send", send, methods=["POST"])]
