"""An app written the usual Twilio way (send with a status callback, validate the callback's
X-Twilio-Signature, take inbound SMS on a webhook), pointed at otpservice. The one change from
a Twilio app is OtpserviceHttpClient: the SDK's requests go to OTPSERVICE_URL. docs/messaging.md
walks through it.

    OTPSERVICE_URL=http://127.0.0.1:3000 TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=<one of API_KEYS> \\
    APP_PUBLIC_URL=http://127.0.0.1:8000 INBOUND_WEBHOOK_SECRET=... \\
    uvicorn examples.twilio_messaging_app:app --port 8000

    POST /notify {"to": "+393331234567", "body": "Your order shipped"}  -> {"sid", "status"}
    POST /sms/status    the status callback (Twilio's form, X-Twilio-Signature)
    POST /sms/inbound   inbound SMS forwarded by otpservice (JSON, X-Otpservice-Signature)
"""

import hashlib
import hmac
import json
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

OTPSERVICE_URL = os.environ.get("OTPSERVICE_URL", "http://127.0.0.1:3000")
ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "+15005550006")
APP_PUBLIC_URL = os.environ.get("APP_PUBLIC_URL", "http://127.0.0.1:8000")
INBOUND_WEBHOOK_SECRET = os.environ.get("INBOUND_WEBHOOK_SECRET", "")

STATUSES: dict[str, list[str]] = {}  # a real app keeps these in its own store
INBOX: list[dict[str, Any]] = []


class OtpserviceHttpClient(TwilioHttpClient):
    """Twilio's path and query, otpservice's scheme and host: the only change from a Twilio app."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        base, parts = urlsplit(OTPSERVICE_URL), urlsplit(url)
        url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


def twilio_client() -> Client:
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=OtpserviceHttpClient())


async def notify(request: Request) -> Response:
    payload = await request.json()
    try:
        message = twilio_client().messages.create(
            to=payload["to"],
            from_=FROM_NUMBER,
            body=payload["body"],
            status_callback=APP_PUBLIC_URL + "/sms/status",
        )
    except TwilioRestException as exc:
        if exc.code == 21610:  # the person replied STOP
            return JSONResponse({"error": "opted_out"}, status_code=409)
        return JSONResponse({"error": exc.msg, "code": exc.code}, status_code=502)
    return JSONResponse({"sid": message.sid, "status": message.status})


async def sms_status(request: Request) -> Response:
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    # As Twilio's guides have it: the URL the callback was registered with, the form, the header.
    url = APP_PUBLIC_URL + request.url.path
    if not RequestValidator(AUTH_TOKEN).validate(url, params, request.headers.get("X-Twilio-Signature", "")):
        return Response(status_code=403)
    STATUSES.setdefault(params["MessageSid"], []).append(params["MessageStatus"])
    return Response(status_code=204)


async def sms_inbound(request: Request) -> Response:
    raw = await request.body()
    expected = "sha256=" + hmac.new(INBOUND_WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Otpservice-Signature", "")):
        return Response(status_code=403)
    message = json.loads(raw)
    INBOX.append(message)  # STOP, START and HELP come too: otpservice has applied them already
    return Response(status_code=204)


app = Starlette(
    routes=[
        Route("/notify", notify, methods=["POST"]),
        Route("/sms/status", sms_status, methods=["POST"]),
        Route("/sms/inbound", sms_inbound, methods=["POST"]),
    ]
)
