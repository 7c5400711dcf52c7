"""Operations: liveness, readiness, and the dev outbox of the console provider."""

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from otpservice.api.context import services_of
from otpservice.errors import NotFound, ServiceUnavailable
from otpservice.providers.console import ConsoleProvider


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    services = services_of(request)
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        raise ServiceUnavailable("database unreachable") from None
    return JSONResponse({"status": "ready"})


async def dev_outbox(request: Request) -> JSONResponse:
    provider = services_of(request).provider
    if not isinstance(provider, ConsoleProvider):
        raise NotFound()
    return JSONResponse({"messages": list(provider.outbox)})


routes = [
    Route("/-/healthz", healthz, methods=["GET"]),
    Route("/-/ready", ready, methods=["GET"]),
]
console_routes = [Route("/dev/outbox", dev_outbox, methods=["GET"])]
