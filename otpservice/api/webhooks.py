"""Delivery receipts: Twilio (signed), Vonage and Kaleyra (our token in the callback URL)."""

import logging
from collections.abc import Awaitable, Callable, Mapping

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from otpservice.api.body import parse_json, read_body
from otpservice.api.context import services_of
from otpservice.api.routing import Answer, ApiRoute, mount
from otpservice.clock import to_datetime
from otpservice.delivery import states
from otpservice.delivery.callbacks import KALEYRA_DLR_PATH, TWILIO_STATUS_PATH, VONAGE_DLR_PATH
from otpservice.delivery.signatures import token_valid, twilio_signature_valid
from otpservice.errors import InvalidRequest, MessageNotFound, NotFound, WebhookForbidden
from otpservice.providers.base import provider_word

log = logging.getLogger("otpservice.webhooks")
MAX_RECEIPT_BYTES = 16 * 1024
MAX_ID_LENGTH = 64


class TwilioStatusCallback(BaseModel):
    model_config = ConfigDict(extra="allow")

    MessageSid: str | None = Field(None, description="A message's receipt (SMS, WhatsApp)")
    MessageStatus: str | None = None
    CallSid: str | None = Field(None, description="A call's status callback")
    CallStatus: str | None = None
    ErrorCode: str | None = None


class DeliveryReceipt(BaseModel):
    """Vonage and Kaleyra receipts: their fields as each provider names them."""

    model_config = ConfigDict(extra="allow")


class WebhookToken(BaseModel):
    token: str | None = Field(None, description="WEBHOOK_SECRET (or send it as the X-Webhook-Token header)")


async def receipt_params(request: Request) -> dict[str, str]:
    """GET query, POST form, or POST JSON: the receipt's fields as strings."""
    params = {k: v for k, v in request.query_params.items() if k != "token"}
    if request.method == "POST":
        if request.headers.get("content-type", "").startswith("application/json"):
            data = parse_json(await read_body(request, MAX_RECEIPT_BYTES))
            if not isinstance(data, dict):
                raise InvalidRequest("body must be a JSON object")
            params.update({str(k): str(v) for k, v in data.items() if v is not None})
        else:
            await read_body(request, MAX_RECEIPT_BYTES)
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


async def _apply(
    request: Request, provider: str, sid: str | None, word: str | None, error_code: str | None
) -> Response:
    if not sid or not word:
        raise InvalidRequest("receipt must carry a message id and a status")
    if len(sid) > MAX_ID_LENGTH or "\x00" in sid:
        raise MessageNotFound()
    status = states.from_provider(provider, word)
    services = services_of(request)
    if status is not None:
        changed = await services.messages.advance_status(
            provider,
            sid,
            status,
            states.states_before(status),
            to_datetime(services.clock.now()),
            provider_status=provider_word(word),
            error_code=provider_word(error_code) if error_code not in (None, "", "0") else None,
        )
        log.info("delivery receipt", extra={"provider": provider, "sid": sid, "status": status, "applied": changed})
        if not changed and await services.messages.get(sid) is None:
            # Not ours, or it came before our record of the send: a non-2xx asks for a retry.
            raise MessageNotFound()
    return Response(status_code=204)


async def twilio_status(request: Request) -> Response:
    services = services_of(request)
    settings = services.settings
    if not settings.public_base_url or not settings.twilio_auth_token:
        raise NotFound()
    await read_body(request, MAX_RECEIPT_BYTES)
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    # Twilio signs the exact callback URL it was given for that message: the one we stored
    # with it (PUBLIC_BASE_URL may have changed since), else the one it would be given now.
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    # A call's status callback names the call (CallSid, CallStatus), a message's the message.
    sid = params.get("MessageSid") or params.get("CallSid")
    word = params.get("MessageStatus") or params.get("CallStatus")
    if sid and len(sid) <= MAX_ID_LENGTH and "\x00" not in sid:
        message = await services.messages.get(sid)
        if message is not None and message.provider == "twilio" and message.callback_url:
            url = message.callback_url
    signature = request.headers.get("X-Twilio-Signature", "")
    if not twilio_signature_valid(settings.twilio_auth_token.get_secret_value(), url, params, signature):
        raise WebhookForbidden()
    return await _apply(request, "twilio", sid, word, params.get("ErrorCode"))


def check_token(request: Request) -> None:
    """The current WEBHOOK_SECRET, or one of WEBHOOK_PREVIOUS_SECRETS: receipts for messages
    sent before a rotation still carry the old one in their callback URL."""
    settings = services_of(request).settings
    if settings.webhook_secret is None:
        raise NotFound()
    given = request.query_params.get("token") or request.headers.get("X-Webhook-Token")
    accepted = [settings.webhook_secret, *settings.webhook_previous_secrets]
    # Every candidate is compared, so that the time taken does not tell which one matched.
    if not sum(token_valid(secret.get_secret_value(), given) for secret in accepted):
        raise WebhookForbidden()


async def vonage_dlr(request: Request) -> Response:
    check_token(request)
    params = await receipt_params(request)
    return await _apply(
        request,
        "vonage",
        # SMS receipts name messageId; WhatsApp status webhooks message_uuid; call events uuid.
        _first(params, "messageId", "message-id", "message_uuid", "uuid"),
        params.get("status"),
        _first(params, "err-code"),
    )


async def kaleyra_dlr(request: Request) -> Response:
    check_token(request)
    params = await receipt_params(request)
    return await _apply(
        request,
        "kaleyra",
        _first(params, "id", "message_id", "sid"),
        _first(params, "status", "delivery_status"),
        _first(params, "error_code", "error"),
    )


def _first(params: Mapping[str, str], *names: str) -> str | None:
    return next((params[name] for name in names if params.get(name)), None)


RECORDED = {204: Answer("Receipt recorded (or ignored when already applied)")}
RECEIPT_ERRORS = (InvalidRequest, WebhookForbidden, NotFound, MessageNotFound)
FORM_OR_JSON = ("application/x-www-form-urlencoded", "application/json")


def _receipt_routes(path: str, endpoint: Callable[[Request], Awaitable[Response]], provider: str) -> list[ApiRoute]:
    summary = f"{provider.capitalize()} delivery receipt (404 while WEBHOOK_SECRET is unset)"
    return [
        ApiRoute(
            method,
            path,
            endpoint,
            f"{provider}Receipt{method.capitalize()}",
            summary,
            "webhooks",
            auth="none",
            responses=RECORDED,
            query=WebhookToken,
            errors=RECEIPT_ERRORS,
            request=DeliveryReceipt if method == "POST" else None,
            request_media=FORM_OR_JSON,
        )
        for method in ("GET", "POST")
    ]


api_routes = [
    ApiRoute(
        "POST",
        TWILIO_STATUS_PATH,
        twilio_status,
        "twilioStatusCallback",
        "Twilio status callback, signed with X-Twilio-Signature (404 unless PUBLIC_BASE_URL is set)",
        "webhooks",
        auth="none",
        request=TwilioStatusCallback,
        request_media=("application/x-www-form-urlencoded",),
        responses=RECORDED,
        errors=(WebhookForbidden, NotFound, MessageNotFound),
    ),
    *_receipt_routes(VONAGE_DLR_PATH, vonage_dlr, "vonage"),
    *_receipt_routes(KALEYRA_DLR_PATH, kaleyra_dlr, "kaleyra"),
]
routes = mount(api_routes)
