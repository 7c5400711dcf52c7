"""Twilio Verify v2 compatible API (SPEC 11), mounted at /v2: an app written for Twilio
Verify switches by changing its client's base URL.

Form-encoded in, Twilio's JSON and error body out (api/twilio_render.py). HTTP Basic auth
whose password must be one of API_KEYS; the user name is echoed as `account_sid`.
"""

import re
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Mount, Route

from otpservice.api.body import client_ip
from otpservice.api.context import services_of
from otpservice.api.errors import status_of
from otpservice.api.twilio_form import account_of, read_form, refuse_unsupported, required
from otpservice.api.twilio_render import check_json, service_json, twilio_error, verification_json
from otpservice.api.verify import APP_HASH_PATTERN
from otpservice.clock import to_datetime
from otpservice.core.phone import is_valid_e164
from otpservice.db.models import VerifyService
from otpservice.db.outage import is_outage
from otpservice.errors import (
    DatabaseUnavailable,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    OTPServiceError,
    VerificationNotFound,
)
from otpservice.observability import metrics
from otpservice.verify.scope import ServiceScope
from otpservice.verify.views import VerificationView

SERVICE_SID = re.compile(r"VA[0-9a-fA-F]{32}")
CODE = re.compile(r"[0-9A-Za-z]{4,10}")
MAX_FRIENDLY_NAME = 32
CHANNELS = frozenset({"sms", "whatsapp", "call", "email"})
# A fetch or update finds a verification only while Twilio would: approved, canceled, expired
# and spent ones are gone (its "soft delete"); a failed one stays visible.
VISIBLE = ("pending", "failed")


class Call:
    """One authenticated request: its form, the caller's account and where we are reached."""

    def __init__(self, request: Request, account_sid: str, form: dict[str, str]) -> None:
        self.request, self.account_sid, self.form = request, account_sid, form
        # `url` fields: PUBLIC_BASE_URL when set (behind a proxy), else where this request came in.
        public = services_of(request).settings.public_base_url
        self.base_url = public.rstrip("/") if public else str(request.base_url).rstrip("/").removesuffix("/v2")
        self.services = services_of(request)

    async def service(self) -> VerifyService:
        sid = self.request.path_params["service_sid"]
        found = await self.services.verify_services.get(sid) if SERVICE_SID.fullmatch(sid) else None
        if found is None:
            raise NotFound()
        return found

    async def scope(self) -> ServiceScope:
        found = await self.service()
        return ServiceScope(sid=found.sid, app_name=found.friendly_name, code_length=found.code_length)

    async def visible(self, scope: ServiceScope) -> VerificationView:
        found = await self.services.verify.get(self.request.path_params["verification_sid"])
        if found.service_sid not in (None, scope.sid) or found.status not in VISIBLE:
            raise VerificationNotFound()
        return found

    async def verification(self, found: VerificationView, scope: ServiceScope, status: int = 200) -> JSONResponse:
        """The verification as Twilio shows it, each send attempt with its channel."""
        attempts = await self.services.messages.attempts_of(found.id, found.last_message_id)
        return JSONResponse(
            verification_json(
                found,
                account_sid=self.account_sid,
                service_sid=scope.sid,
                base_url=self.base_url,
                attempts=[(at.timestamp(), channel) for at, channel in attempts],
            ),
            status_code=status,
        )


Handler = Callable[[Call], Awaitable[Response]]


def endpoint(
    handler: Handler, supported: set[str] | None = None, ignored: frozenset[str] = frozenset()
) -> Callable[[Request], Awaitable[Response]]:
    """`supported`: the form parameters it takes (None: it reads no form)."""

    async def run(request: Request) -> Response:
        try:
            account_sid = account_of(request)
            form: dict[str, str] = {}
            if supported is not None:
                form = await read_form(request)
                refuse_unsupported(form, supported, ignored)
            return await handler(Call(request, account_sid, form))
        except OTPServiceError as exc:
            status = status_of(exc)
            if status == 429:
                metrics.limit_refusal(exc.code)
            if status == 404:
                path = request.url.path.removeprefix("/v2")
                return twilio_error(exc, f"The requested resource {path} was not found")
            return twilio_error(exc)
        except Exception as exc:  # the database refused or hung: a 503 in Twilio's words
            if not is_outage(exc):
                raise
            return twilio_error(DatabaseUnavailable())

    run.__name__ = handler.__name__
    return run


async def create_service(call: Call) -> Response:
    name = required(call.form, "FriendlyName")
    if len(name) > MAX_FRIENDLY_NAME or not name.isprintable():
        raise InvalidRequest(f"Invalid parameter: FriendlyName (1 to {MAX_FRIENDLY_NAME} printable characters)")
    length_text = call.form.get("CodeLength") or str(call.services.settings.otp_code_length)
    if not length_text.isdigit() or not 4 <= int(length_text) <= 10:
        raise InvalidRequest("Invalid parameter: CodeLength (an integer from 4 to 10)")
    now = to_datetime(call.services.clock.now())
    created = await call.services.verify_services.create("VA" + uuid.uuid4().hex, name, int(length_text), now)
    assert created is not None  # a fresh random sid
    return JSONResponse(service_json(created, account_sid=call.account_sid, base_url=call.base_url), status_code=201)


async def fetch_service(call: Call) -> Response:
    found = await call.service()
    return JSONResponse(service_json(found, account_sid=call.account_sid, base_url=call.base_url))


async def start(call: Call) -> Response:
    scope = await call.scope()
    to, channel = required(call.form, "To"), required(call.form, "Channel")
    if channel not in CHANNELS:
        raise InvalidRequest("Invalid parameter: Channel (sms, whatsapp, call or email)")
    if channel != "email" and not is_valid_e164(to):
        raise InvalidRequest("Invalid parameter: To (an E.164 phone number; an email address with Channel=email)")
    app_hash = call.form.get("AppHash") or None
    if app_hash is not None and not re.fullmatch(APP_HASH_PATTERN, app_hash):
        raise InvalidRequest("Invalid parameter: AppHash (11 characters of [A-Za-z0-9+/])")
    locale = call.form.get("Locale") or None
    if locale is not None and len(locale) > 35:
        raise InvalidRequest("Invalid parameter: Locale")
    outcome = await call.services.verify.start(
        to, client_ip=client_ip(call.request), locale=locale, app_hash=app_hash, service=scope, channel=channel
    )
    return await call.verification(outcome.verification, scope, status=201)


async def fetch_verification(call: Call) -> Response:
    scope = await call.scope()
    return await call.verification(await call.visible(scope), scope)


async def update_verification(call: Call) -> Response:
    scope = await call.scope()
    status = required(call.form, "Status")
    if status not in ("canceled", "approved"):
        raise InvalidRequest("Invalid parameter: Status ('canceled' or 'approved')")
    found = await call.visible(scope)
    if status == "canceled":
        return await call.verification(await call.services.verify.cancel(found.id), scope)
    return await call.verification(await call.services.verify.approve(found.id), scope)


async def check(call: Call) -> Response:
    scope = await call.scope()
    code = required(call.form, "Code")
    if not CODE.fullmatch(code):
        raise InvalidRequest("Invalid parameter: Code (4 to 10 letters or digits)")
    to, sid = call.form.get("To") or None, call.form.get("VerificationSid") or None
    if to is None and sid is None:
        raise InvalidRequest("Invalid parameter: To or VerificationSid is required")
    if to is not None and "@" not in to and not is_valid_e164(to):
        raise InvalidRequest("Invalid parameter: To (an E.164 phone number, or an email address)")
    outcome = await call.services.verify.check(
        code, client_ip=client_ip(call.request), verification_id=sid, to=to if sid is None else None, service=scope
    )
    return JSONResponse(
        check_json(outcome.verification, outcome.valid, account_sid=call.account_sid, service_sid=scope.sid)
    )


async def unknown(call: Call) -> Response:
    """Anything else under /v2: a known path with another method is 405, the rest 404."""
    if any(route.matches(call.request.scope)[0] is Match.PARTIAL for route in _routes):
        raise MethodNotAllowed()
    raise NotFound()


START_IGNORED = frozenset({"DeviceIp", "RiskCheck", "Tags"})  # advice to Twilio's fraud checks: ours run anyway
_routes = [
    Route(
        "/Services",
        endpoint(create_service, {"FriendlyName", "CodeLength", "DoNotShareWarningEnabled"}),
        methods=["POST"],
        include_in_schema=False,
    ),
    Route("/Services/{service_sid}", endpoint(fetch_service), methods=["GET"], include_in_schema=False),
    Route(
        "/Services/{service_sid}/Verifications",
        endpoint(start, {"To", "Channel", "Locale", "AppHash"}, START_IGNORED),
        methods=["POST"],
        include_in_schema=False,
    ),
    Route(
        "/Services/{service_sid}/Verifications/{verification_sid}",
        endpoint(fetch_verification),
        methods=["GET"],
        include_in_schema=False,
    ),
    Route(
        "/Services/{service_sid}/Verifications/{verification_sid}",
        endpoint(update_verification, {"Status"}),
        methods=["POST"],
        include_in_schema=False,
    ),
    Route(
        "/Services/{service_sid}/VerificationCheck",
        endpoint(check, {"Code", "To", "VerificationSid"}),
        methods=["POST"],
        include_in_schema=False,
    ),
]
# A Mount, not top-level routes: these answer Twilio's bodies, not the native API's (and
# so stay out of /openapi.json, which documents the native API; TWILIO-VERIFY.md and Twilio's
# own documents describe them).
routes = [
    Mount(
        "/v2",
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
