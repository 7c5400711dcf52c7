"""Operations: liveness, readiness, Prometheus metrics, and the console provider's dev outbox."""

import asyncio
import contextlib
import ipaddress
from datetime import datetime
from typing import Literal

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


class Readiness(BaseModel):
    status: str
    provider: Literal["ok", "refused", "unknown"]


class OutboxMessage(BaseModel):
    sid: str
    to: str
    body: str
    dateEvent: datetime


class Outbox(BaseModel):
    messages: list[OutboxMessage]


# A probe must answer before the orchestrator's own timeout, even when the database hangs.
READY_TIMEOUT_SECONDS = 2.0
# While the provider's word on our credentials is not `ok`, the probe asks its balance at most
# this often (an instance out of the pool sends nothing, so only this can see a fixed key).
PROVIDER_RECHECK_SECONDS = 30.0


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
    health = services.provider_health
    if health is None:
        return JSONResponse({"status": "ready", "provider": "unknown"})
    if health.due(PROVIDER_RECHECK_SECONDS):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(health.ask(), READY_TIMEOUT_SECONDS)
    if health.status == "refused":
        raise ServiceUnavailable(
            "the SMS provider refuses our credentials (see check-config)", fields={"provider": "refused"}
        )
    return JSONResponse({"status": "ready", "provider": health.status})


async def prometheus_metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _from_loopback(request: Request) -> bool:
    """The socket's own peer (never a header) is a loopback address."""
    try:
        peer = ipaddress.ip_address(request.client.host) if request.client else None
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer is not None and peer.is_loopback


async def dev_outbox(request: Request) -> JSONResponse:
    provider = services_of(request).provider
    # Codes are readable here: never to the network, whatever HOST is (the image binds 0.0.0.0).
    if not isinstance(provider, ConsoleProvider) or not _from_loopback(request):
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
        "Readiness: the database and limit storage answer, the provider takes our credentials",
        "operations",
        auth="none",
        description="`provider` is the last word of the SMS provider on our credentials (a balance call "
        "or a send): ok, refused or unknown. 503 while they are refused.",
        responses={200: Answer("Ready", Readiness)},
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
        description="Development only: 404 unless SERVICE_PROVIDER=console, and 404 to any peer that is not "
        "on a loopback address. The codes are readable here, so with API_KEYS set it needs a key too.",
        responses={200: Answer("The last messages, newest first", Outbox)},
        errors=(NotFound,),
    ),
]
routes = mount(api_routes)
