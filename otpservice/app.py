"""create_app(settings): routes, middleware, lifespan, and the error handlers of api/errors.py."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from otpservice.admin import routes as admin
from otpservice.api import (
    admin_fraud,
    docs,
    fluxkit,
    inbound,
    messages,
    ops,
    send,
    totp,
    twilio_messages,
    twilio_totp,
    twilio_verify,
    verify,
    webhooks,
)
from otpservice.api.errors import EXCEPTION_HANDLERS
from otpservice.api.middleware import OPEN_PREFIXES, AccessLog, ApiKeyAuth
from otpservice.api.routing import ApiRoute
from otpservice.clock import Clock, SystemClock
from otpservice.settings import Settings
from otpservice.wiring import build_services, close_services, start_background, stop_background

log = logging.getLogger("otpservice")

# The route table (api/routing.py): what /openapi.json documents, whatever the configuration.
API_ROUTES: list[ApiRoute] = [
    *ops.api_routes,
    *docs.api_routes,
    *send.api_routes,
    *fluxkit.api_routes,
    *verify.api_routes,
    *totp.api_routes,
    *messages.api_routes,
    *webhooks.api_routes,
    *inbound.api_routes,
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
        *totp.routes,
        *messages.routes,
        *webhooks.routes,
        *inbound.routes,
        *fluxkit.routes,
        *twilio_totp.routes,  # before twilio_verify's /v2 catch-all
        *twilio_verify.routes,
        *twilio_messages.routes,
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
