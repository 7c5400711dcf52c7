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

from otpservice.api import admin_fraud, messages, openapi, ops, send, verify, webhooks
from otpservice.api.middleware import AccessLog, ApiKeyAuth, route_template
from otpservice.clock import Clock, SystemClock
from otpservice.errors import OTPServiceError, error_body
from otpservice.observability import metrics
from otpservice.settings import Settings
from otpservice.wiring import build_services, close_services, start_background, stop_background

log = logging.getLogger("otpservice")

_HTTP_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large"}


async def handle_service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OTPServiceError)
    if exc.status_code == 429:
        metrics.limit_refusal(exc.code)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.response_headers())


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = {404: "Route not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    return JSONResponse(error_body(exc.status_code, message, code), status_code=exc.status_code,
                        headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Only what escapes AccessLog (which answers the app's own errors) gets here."""
    log.exception("unhandled error", extra={"route": route_template(request.scope)})
    return JSONResponse(error_body(500, "Internal server error", "internal_error"), status_code=500)


EXCEPTION_HANDLERS = {
    OTPServiceError: handle_service_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}


def build_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = [*ops.routes, *openapi.routes, *send.routes, *verify.routes,
                               *messages.routes, *webhooks.routes]
    if settings.service_provider == "console":
        routes += ops.console_routes
    if settings.admin_api_keys:  # unset: /admin and everything under it is 404
        routes += admin_fraud.routes
    return routes


def build_middleware(settings: Settings) -> list[Middleware]:
    """The access log is outermost, so that it also sees the 401s of the key check."""
    middleware = [Middleware(AccessLog)]
    if settings.api_keys:
        middleware.append(Middleware(ApiKeyAuth, keys=[key.get_secret_value() for key in settings.api_keys]))
    return middleware


def create_app(settings: Settings, *, clock: Clock | None = None,
               transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
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

    app = Starlette(routes=build_routes(settings), lifespan=lifespan,
                    exception_handlers=EXCEPTION_HANDLERS, middleware=build_middleware(settings))
    app.state.settings = settings
    return app
