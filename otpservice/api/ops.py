"""Operations: liveness, readiness, Prometheus metrics, and the console provider's dev outbox."""

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from otpservice.api.context import services_of
from otpservice.errors import NotFound, ServiceUnavailable
from otpservice.observability.metrics import REGISTRY
from otpservice.providers.console import ConsoleProvider

# A probe must answer before the orchestrator's own timeout, even when the database hangs.
READY_TIMEOUT_SECONDS = 2.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    services = services_of(request)

    async def ping() -> None:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), READY_TIMEOUT_SECONDS)
    except Exception:
        raise ServiceUnavailable("database unreachable (DATABASE_URL)") from None
    if not await services.limit_storage.ping():
        raise ServiceUnavailable(f"limit storage unreachable ({services.limit_storage.name}, RATE_LIMIT_STORAGE_URL)")
    return JSONResponse({"status": "ready"})


async def prometheus_metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def dev_outbox(request: Request) -> JSONResponse:
    provider = services_of(request).provider
    if not isinstance(provider, ConsoleProvider):
        raise NotFound()
    return JSONResponse({"messages": list(provider.outbox)})


routes = [
    Route("/-/healthz", healthz, methods=["GET"]),
    Route("/-/ready", ready, methods=["GET"]),
    Route("/metrics", prometheus_metrics, methods=["GET"]),
]
console_routes = [Route("/dev/outbox", dev_outbox, methods=["GET"])]
