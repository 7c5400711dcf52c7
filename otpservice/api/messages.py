"""GET /messages/{sid}: a message's record and status history (number always masked)."""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from otpservice.api.context import services_of
from otpservice.clock import iso
from otpservice.errors import MessageNotFound
from otpservice.core.phone import mask_phone


async def get_message(request: Request) -> JSONResponse:
    services = services_of(request)
    sid = request.path_params["sid"]
    message = None if len(sid) > 64 or "\x00" in sid else await services.messages.get(sid)
    if message is None:
        raise MessageNotFound()
    history = await services.messages.history(message.id)
    return JSONResponse({
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
        "history": [{"status": event.status, "at": iso(event.created_at.timestamp()), "provider": event.provider,
                     "detail": event.detail} for event in history],
    })


routes = [Route("/messages/{sid}", get_message, methods=["GET"])]
