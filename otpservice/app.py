"""create_app(settings): routes, middleware, lifespan, and the one place errors become responses."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from otpservice.admin import routes as admin
from otpservice.api import admin_fraud, docs, fluxkit, messages, ops, send, twilio_verify, verify, webhooks
from otpservice.api.middleware import OPEN_PREFIXES, AccessLog, ApiKeyAuth, route_template
from otpservice.api.routing import ApiRoute
from otpservice.clock import Clock, SystemClock
from otpservice.errors import OTPServiceError, error_body
from otpservice.observability import metrics
from otpservice.settings import Settings
from otpservice.wiring import build_services, close_services, start_background, stop_background

log = logging.getLogger("otpservice")

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


async def handle_service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OTPServiceError)
    if exc.status_code == 429:
        metrics.limit_refusal(exc.code)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.response_headers())


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "invalid_request" if exc.status_code < 500 else "internal_error")
    message = {404: "Route not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    return JSONResponse(error_body(exc.status_code, message, code), status_code=exc.status_code, headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Only what escapes AccessLog (which answers the app's own errors) gets here."""
    log.error("unhandled error", exc_info=exc, extra={"route": route_template(request.scope)})
    return JSONResponse(error_body(500, "Internal server error", "internal_error"), status_code=500)


EXCEPTION_HANDLERS = {
    OTPServiceError: handle_service_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}


# The route table (api/routing.py): what /openapi.json documents, whatever the configuration.
API_ROUTES: list[ApiRoute] = [
    *ops.api_routes,
    *docs.api_routes,
    *send.api_routes,
    *fluxkit.api_routes,
    *verify.api_routes,
    *messages.api_routes,
    *webhooks.api_routes,
    *admin_fraud.api_routes,
]


def build_routes(settings: Settings) -> list[BaseRoute]:
    """Every API route is mounted whatever the settings: one a setting turns off answers 404 itself.
    The console's HTML pages (left out of the document) exist only with ADMIN_API_KEYS."""
    routes: list[BaseRoute] = [
        *ops.routes,
        *docs.routes,
        *send.routes,
        *verify.routes,
        *messages.routes,
        *webhooks.routes,
        *fluxkit.routes,
        *twilio_verify.routes,
        *admin_fraud.routes,
    ]
    if settings.admin_api_keys:  # unset: /admin and everything under it is 404
        routes += admin.routes
    return routes


def build_middleware(settings: Settings) -> list[Middleware]:
    """The access log is outermost, so that it also sees the 401s of the key check."""
    middleware = [Middleware(AccessLog)]
    if settings.api_keys:
        open_prefixes = OPEN_PREFIXES + (("/docs", "/openapi.json") if settings.docs_enabled else ())
        middleware.append(
            Middleware(
                ApiKeyAuth, keys=[key.get_secret_value() for key in settings.api_keys], open_prefixes=open_prefixes
            )
        )
    return middleware


def create_app(
    settings: Settings, *, clock: Clock | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """`transport` replaces the providers' HTTP transport (tests); `clock` the time source."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not settings.api_keys:
            log.warning("API_KEYS is not set: every API route is open to anyone who can reach the service")
        services = await build_services(settings, clock or SystemClock(), transport)
        app.state.services = services
        await start_background(services)
        try:
            yield
        finally:
            await stop_background(services)
            await close_services(services)

    app = Starlette(
        routes=build_routes(settings),
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=build_middleware(settings),
    )
    app.state.settings = settings
    app.state.api_routes = API_ROUTES
    return app
