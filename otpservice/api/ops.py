"""Operations: liveness, readiness, Prometheus metrics, and the console provider's dev outbox."""

import asyncio
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from otpservice.api.context import services_of
from otpservice.api.routing import Answer, ApiRoute, mount
from otpservice.errors import NotFound, ServiceUnavailable
from otpservice.observability.metrics import REGISTRY
from otpservice.providers.console import ConsoleProvider


class Status(BaseModel):
    status: str


class OutboxMessage(BaseModel):
    sid: str
    to: str
    body: str
    dateEvent: datetime


class Outbox(BaseModel):
    messages: list[OutboxMessage]


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


api_routes = [
    ApiRoute(
        "GET",
        "/-/healthz",
        healthz,
        "healthz",
        "Liveness (no dependency)",
        "operations",
        auth="none",
        responses={200: Answer("Alive", Status)},
    ),
    ApiRoute(
        "GET",
        "/-/ready",
        ready,
        "ready",
        "Readiness: the database answers",
        "operations",
        auth="none",
        responses={200: Answer("Ready", Status)},
        errors=(ServiceUnavailable,),
    ),
    ApiRoute(
        "GET",
        "/metrics",
        prometheus_metrics,
        "metrics",
        "Prometheus metrics",
        "operations",
        responses={200: Answer("Prometheus text format", media_type="text/plain")},
    ),
    ApiRoute(
        "GET",
        "/dev/outbox",
        dev_outbox,
        "devOutbox",
        "Messages kept by the console provider",
        "development",
        description="Development only: 404 unless SERVICE_PROVIDER=console. The codes are readable here, "
        "so with API_KEYS set it needs a key like every API route.",
        responses={200: Answer("The last messages, newest first", Outbox)},
        errors=(NotFound,),
    ),
]
routes = mount(api_routes)
