"""Inbound SMS webhooks (SPEC 22): Twilio (signed with X-Twilio-Signature, answered in TwiML),
Vonage and Kaleyra (WEBHOOK_SECRET as a token, as their delivery receipts)."""

from collections.abc import Awaitable, Callable, Mapping
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from otpservice.api.body import read_body
from otpservice.api.context import services_of
from otpservice.api.routing import Answer, ApiRoute, mount
from otpservice.api.webhooks import FORM_OR_JSON, WebhookToken, check_token, receipt_params
from otpservice.delivery.signatures import twilio_signature_valid
from otpservice.errors import InvalidRequest, NotFound, WebhookForbidden
from otpservice.messaging.inbound import Incoming

MAX_INBOUND_BYTES = 32 * 1024
TWILIO_INBOUND_PATH = "/webhooks/twilio/inbound"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


class TwilioInbound(BaseModel):
    model_config = ConfigDict(extra="allow")

    MessageSid: str
    From: str
    To: str
    Body: str


class ProviderInbound(BaseModel):
    """Vonage (`msisdn`, `to`, `text`, `messageId`) or Kaleyra (`sender`, `receiver`, `message`, `id`)."""

    model_config = ConfigDict(extra="allow")


def twiml(reply: str | None) -> Response:
    body = f"{XML_HEAD}<Response><Message>{escape(reply)}</Message></Response>" if reply else f"{XML_HEAD}<Response />"
    return Response(body, media_type="text/xml")


async def twilio_inbound(request: Request) -> Response:
    services = services_of(request)
    settings = services.settings
    if not settings.public_base_url or not settings.twilio_auth_token:
        raise NotFound()
    await read_body(request, MAX_INBOUND_BYTES)
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    if not twilio_signature_valid(settings.twilio_auth_token.get_secret_value(), url, params, signature):
        raise WebhookForbidden()
    sender, receiver = params.get("From"), params.get("To")
    if not sender or not receiver or "Body" not in params:
        raise InvalidRequest("an inbound message must carry From, To and Body")
    reply = await services.messaging.inbound.receive(
        Incoming("twilio", sender, receiver, params["Body"], params.get("MessageSid") or params.get("SmsSid"))
    )
    return twiml(reply)


def _first(params: Mapping[str, str], *names: str) -> str | None:
    return next((params[name] for name in names if params.get(name) is not None), None)


def _provider_inbound(
    provider: str, sender: tuple[str, ...], receiver: tuple[str, ...], text: tuple[str, ...], sid: tuple[str, ...]
) -> Callable[[Request], Awaitable[Response]]:
    async def inbound(request: Request) -> Response:
        check_token(request)
        params = await receipt_params(request)
        found_sender, found_receiver, body = _first(params, *sender), _first(params, *receiver), _first(params, *text)
        if not found_sender or not found_receiver or body is None:
            raise InvalidRequest(f"an inbound message must carry {sender[0]}, {receiver[0]} and {text[0]}")
        # Vonage and Kaleyra take no reply in the answer: a keyword's confirmation is theirs to send.
        await services_of(request).messaging.inbound.receive(
            Incoming(provider, found_sender, found_receiver, body, _first(params, *sid))
        )
        return Response(status_code=204)

    inbound.__name__ = f"{provider}_inbound"
    return inbound


vonage_inbound = _provider_inbound("vonage", ("msisdn", "from"), ("to",), ("text",), ("messageId", "message-id"))
kaleyra_inbound = _provider_inbound(
    "kaleyra", ("sender", "from", "mobile"), ("receiver", "to", "dest"), ("message", "body", "text"), ("id", "sid")
)
INBOUND_ERRORS = (InvalidRequest, WebhookForbidden, NotFound)


def _provider_routes(provider: str, endpoint: Callable[[Request], Awaitable[Response]]) -> list[ApiRoute]:
    return [
        ApiRoute(
            method,
            f"/webhooks/{provider}/inbound",
            endpoint,
            f"{provider}Inbound{method.capitalize()}",
            f"{provider.capitalize()} inbound SMS (404 while WEBHOOK_SECRET is unset)",
            "webhooks",
            auth="none",
            responses={204: Answer("Recorded (and forwarded to INBOUND_WEBHOOK_URL)")},
            query=WebhookToken,
            errors=INBOUND_ERRORS,
            request=ProviderInbound if method == "POST" else None,
            request_media=FORM_OR_JSON,
        )
        for method in ("GET", "POST")
    ]


api_routes = [
    ApiRoute(
        "POST",
        TWILIO_INBOUND_PATH,
        twilio_inbound,
        "twilioInbound",
        "Twilio inbound SMS, signed with X-Twilio-Signature (404 unless PUBLIC_BASE_URL is set); "
        "answers TwiML: a keyword's confirmation, else an empty Response",
        "webhooks",
        auth="none",
        request=TwilioInbound,
        request_media=("application/x-www-form-urlencoded",),
        responses={200: Answer("TwiML", media_type="text/xml")},
        errors=INBOUND_ERRORS,
    ),
    *_provider_routes("vonage", vonage_inbound),
    *_provider_routes("kaleyra", kaleyra_inbound),
]
routes = mount(api_routes)
