"""Twilio Programmable Messaging compatible API (SPEC 22), mounted at /2010-04-01: an app
that sends with `client.messages.create(...)` switches by changing its client's base URL.

`POST /Accounts/{AC}/Messages.json` is the same send as POST /send (validation, limits,
budgets, outbox, record, opt-outs); `GET …/Messages/{SM}.json` and the paged
`GET …/Messages.json` read what was sent under that account. Auth as the Verify API's
(api/twilio_form.py); errors in Twilio's body with the Messages API's codes.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Mount, Route

from otpservice.api.context import services_of
from otpservice.api.errors import status_of
from otpservice.api.idempotency import idempotent
from otpservice.api.twilio_form import account_of, basic_credentials, read_form, refuse_unsupported
from otpservice.api.twilio_message_render import (
    API_VERSION,
    message_error,
    message_id_of,
    message_json,
    twilio_body,
)
from otpservice.clock import to_datetime
from otpservice.db.app_messages import MessageFilter
from otpservice.db.messaging_models import AppMessage
from otpservice.errors import InvalidRequest, MethodNotAllowed, NotFound, OTPServiceError, Unauthorized
from otpservice.observability import metrics

MAX_BODY = 1600
MAX_URL = 1024
CREATE_PARAMS = {"To", "From", "MessagingServiceSid", "Body", "StatusCallback"}
# Advice to Twilio's own machinery that changes nothing of a plain SMS here.
CREATE_IGNORED = frozenset(
    {"ValidityPeriod", "SmartEncoded", "ShortenUrls", "MessageIntent", "ProvideFeedback", "Attempt", "MaxPrice"}
)
INVALID_PARAMETER = 21200  # Twilio's "Invalid parameter"
LIST_PARAMS = {"To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken"}


class BadParameter(Exception):
    """A create or list parameter Twilio refuses with its own code."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


Handler = Callable[[Request, str], Awaitable[Response]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            account_of(request)  # 401 (20003) unless the Basic password is one of API_KEYS
            account_sid = request.path_params.get("account_sid", "")
            if "account_sid" in request.path_params and not (1 <= len(account_sid) <= 64 and account_sid.isalnum()):
                raise NotFound()
            return await handler(request, account_sid)
        except BadParameter as exc:
            return JSONResponse(twilio_body(exc.status, exc.code, exc.message), status_code=exc.status)
        except OTPServiceError as exc:
            if status_of(exc) == 429:
                metrics.limit_refusal(exc.code)
            if status_of(exc) == 404:
                return message_error(exc, f"The requested resource {request.url.path} was not found")
            return message_error(exc)

    run.__name__ = handler.__name__
    return run


def authenticated(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """The caller's credentials checked before anything else (the Idempotency-Key's replay included)."""

    async def run(request: Request) -> Response:
        try:
            account_of(request)
        except Unauthorized as exc:
            return message_error(exc)
        return await handler(request)

    run.__name__ = handler.__name__
    return run


async def render(request: Request, exc: OTPServiceError) -> Response:
    """How the Idempotency-Key wrapper answers its own refusals here: Twilio's body."""
    return message_error(exc)


def _http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(value) <= MAX_URL


async def create(request: Request, account_sid: str) -> Response:
    try:
        form = await read_form(request)
        refuse_unsupported(form, CREATE_PARAMS, CREATE_IGNORED)
    except InvalidRequest as exc:  # not the sender's 21212: a parameter Twilio knows that we do not take
        raise BadParameter(INVALID_PARAMETER, exc.message) from None
    to, body = form.get("To", ""), form.get("Body", "")
    sender, service_sid = form.get("From") or None, form.get("MessagingServiceSid") or None
    callback = form.get("StatusCallback") or None
    if not to:
        raise BadParameter(21604, "A 'To' phone number is required.")
    if sender is None and service_sid is None:
        raise BadParameter(21603, "A 'From' phone number is required.")
    if not body:
        raise BadParameter(21602, "Message body is required.")
    if len(body) > MAX_BODY:
        raise BadParameter(21617, f"The concatenated message body exceeds the {MAX_BODY} character limit.")
    if callback is not None and not _http_url(callback):
        raise BadParameter(21609, "The StatusCallback URL is not a valid http or https URL.")
    services = services_of(request)
    try:
        result = await services.sms.send(to, body, sender)
    except OTPServiceError as exc:
        if exc.code == "invalid_phone_number":
            raise BadParameter(21211, f"The 'To' number {to} is not a valid phone number.") from None
        raise
    now = to_datetime(services.clock.now())
    await services.messaging.app_messages.add(
        AppMessage(
            message_id=result.message_id,
            account_sid=account_sid,
            body=body,
            messaging_service_sid=service_sid,
            created_at=now,
        )
    )
    if callback is not None:
        # Signed with the credential the app signed in with: its Auth Token, which its validator holds.
        password = basic_credentials(request)[1] or ""
        await services.messaging.status_callbacks.watch(result.message_id, callback, password, account_sid)
    view = await services.messaging.app_messages.get(account_sid, result.message_id)
    assert view is not None  # just written
    return JSONResponse(message_json(view), status_code=201)


async def fetch(request: Request, account_sid: str) -> Response:
    message_id = message_id_of(request.path_params["message_sid"])
    view = await services_of(request).messaging.app_messages.get(account_sid, message_id) if message_id else None
    if view is None:
        raise NotFound()
    return JSONResponse(message_json(view))


def _date_bound(name: str, value: str) -> tuple[datetime, bool]:
    """A DateSent value (YYYY-MM-DD, or an ISO date-time as the SDK sends) and whether it was a day."""
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC), True
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), False
    except ValueError:
        raise BadParameter(INVALID_PARAMETER, f"Invalid {name}: a date YYYY-MM-DD or an ISO 8601 date-time") from None


def _filter(query: dict[str, str]) -> MessageFilter:
    start: datetime | None = None
    end: datetime | None = None
    if query.get("DateSent"):
        day, _ = _date_bound("DateSent", query["DateSent"])
        start, end = day, day + timedelta(days=1)
    if query.get("DateSent>"):
        start, _ = _date_bound("DateSent>", query["DateSent>"])  # on or after
    if query.get("DateSent<"):
        bound, is_day = _date_bound("DateSent<", query["DateSent<"])  # on or before
        end = bound + timedelta(days=1) if is_day else bound + timedelta(microseconds=1)
    return MessageFilter(to=query.get("To") or None, sender=query.get("From") or None, sent_from=start, sent_before=end)


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name) or str(default)
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadParameter(INVALID_PARAMETER, f"Invalid {name}: an integer from {low} to {high}")
    return int(text)


async def list_messages(request: Request, account_sid: str) -> Response:
    query = dict(request.query_params)
    unknown = sorted(set(query) - LIST_PARAMS)
    if unknown:
        raise BadParameter(INVALID_PARAMETER, f"Invalid parameter: {unknown[0]} (not supported by otpservice)")
    size, page = _int(query, "PageSize", 50, 1, 1000), _int(query, "Page", 0, 0, 1_000_000)
    where = _filter(query)
    found = await services_of(request).messaging.app_messages.page(account_sid, where, page * size, size + 1)
    path = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"
    kept = {name: value for name, value in query.items() if name not in ("Page", "PageToken", "PageSize")}

    def uri(number: int) -> str:
        return path + "?" + urlencode({**kept, "PageSize": size, "Page": number, "PageToken": f"PA{number}"})

    messages = [message_json(view) for view in found[:size]]
    return JSONResponse(
        {
            "first_page_uri": uri(0),
            "end": page * size + max(len(messages) - 1, 0),
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "messages": messages,
            "uri": uri(page),
            "page_size": size,
            "start": page * size,
            "next_page_uri": uri(page + 1) if len(found) > size else None,
            "page": page,
        }
    )


async def unknown(request: Request, account_sid: str) -> Response:
    """Anything else under /2010-04-01: a known path with another method is 405, the rest 404."""
    if any(route.matches(request.scope)[0] is Match.PARTIAL for route in _routes):
        raise MethodNotAllowed()
    raise NotFound()


MESSAGES = "/Accounts/{account_sid}/Messages.json"
_routes = [
    Route(MESSAGES, authenticated(idempotent(endpoint(create), render)), methods=["POST"], include_in_schema=False),
    Route(MESSAGES, endpoint(list_messages), methods=["GET"], include_in_schema=False),
    Route(
        "/Accounts/{account_sid}/Messages/{message_sid}.json",
        endpoint(fetch),
        methods=["GET"],
        include_in_schema=False,
    ),
]
# A Mount, as /v2: Twilio's bodies, outside /openapi.json (CHANNELS-AND-MESSAGING.md describes them).
routes = [
    Mount(
        f"/{API_VERSION}",
        routes=[
            *_routes,
            Route(
                "/{rest:path}",
                endpoint(unknown),
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                include_in_schema=False,
            ),
        ],
    )
]
