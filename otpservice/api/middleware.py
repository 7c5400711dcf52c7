"""Pure ASGI middleware: API-key authentication, and the access log with its latency metric."""

import hashlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from otpservice.api.errors import error_body, error_json, response_headers, status_of
from otpservice.api.routing import route_template
from otpservice.db.outage import is_outage
from otpservice.errors import DatabaseUnavailable, Unauthorized
from otpservice.observability import metrics
from otpservice.observability.logging import request_id

access_log = logging.getLogger("otpservice.access")
log = logging.getLogger("otpservice")

OPEN_PREFIXES = ("/-/", "/webhooks/")
# Routes that check their own credentials: the Twilio-compatible APIs take HTTP Basic.
OWN_AUTH_PREFIXES = ("/v2/", "/2010-04-01/")
# An incoming X-Request-ID is echoed only when it is this tame: it lands in every log line.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _digest(value: bytes) -> bytes:
    # Digests have one length, so compare_digest's time does not depend on the key's length.
    return hashlib.sha256(value).digest()


class ApiKeyAuth:
    """Every route outside `open_prefixes` requires `Authorization: Bearer <one of keys>`."""

    def __init__(self, app: ASGIApp, keys: Iterable[str], open_prefixes: tuple[str, ...] = OPEN_PREFIXES) -> None:
        self.app = app
        self._open = open_prefixes
        self._digests = [_digest(key.encode()) for key in keys]
        if not self._digests:
            raise ValueError("ApiKeyAuth needs at least one key")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path.startswith(self._open + OWN_AUTH_PREFIXES)
            or _is_admin(path)
            or self._authorized(scope)
        ):
            await self.app(scope, receive, send)
            return
        error = Unauthorized()
        response = JSONResponse(error_json(error), status_code=status_of(error), headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        presented = _digest(token.strip().encode())
        matched = False
        for expected in self._digests:  # no early exit: every key is compared, every time
            matched |= hmac.compare_digest(presented, expected)
        return matched and scheme.lower() == "bearer"


def _is_admin(path: str) -> bool:
    """/admin has keys of its own (ADMIN_API_KEYS), checked by its routes."""
    return path == "/admin" or path.startswith("/admin/")


class AccessLog:
    """One log line and one latency observation per request; X-Request-ID echoed or generated.

    An unhandled exception is logged and answered here (500, the error body), so that its
    log line and its response carry the request id too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            outage = is_outage(exc)
            if outage:  # refused, hung or gone: a 503 the caller may retry, not a bug
                log.warning(
                    "database unavailable",
                    extra={"method": scope["method"], "route": route_template(scope), "error": type(exc).__name__},
                )
            else:
                log.exception("unhandled error", extra={"method": scope["method"], "route": route_template(scope)})
            if status:
                raise  # the response has begun: only dropping the connection is left
            await _error_response(DatabaseUnavailable() if outage else None)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            metrics.REQUEST_SECONDS.labels(method=method, route=route, status=str(status)).observe(elapsed)
            access_log.info(
                "%s %s %d",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": _client(scope),
                },
            )
            request_id.reset(token)


def _error_response(error: DatabaseUnavailable | None) -> JSONResponse:
    if error is None:
        return JSONResponse(error_body(500, "Internal server error", "internal_error"), status_code=500)
    return JSONResponse(error_json(error), status_code=status_of(error), headers=response_headers(error))


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None
