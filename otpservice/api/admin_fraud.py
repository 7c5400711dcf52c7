"""Operator routes of the breaker: GET /admin/fraud/breakers, POST /admin/fraud/breakers/{scope}/{key}.

They answer only with `ADMIN_API_KEYS` set (else 404) and take `Authorization: Bearer <admin
key>`, compared in constant time; API_KEYS do not open them.
"""

import hashlib
import hmac
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse

from otpservice.api.admin_lockout import AdminLockout
from otpservice.api.body import client_ip, read_json
from otpservice.api.context import services_of
from otpservice.api.routing import Answer, ApiRoute, mount
from otpservice.errors import IpRateLimited, NotFound, Unauthorized
from otpservice.fraud.operator import BreakerOperator, Override, canonical_key, check_override


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["reset", "block", "allow"]
    ttl: Annotated[StrictInt, Field(gt=0, le=365 * 86400)] | None = None
    note: Annotated[StrictStr, Field(max_length=200)] | None = None


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def require_admin(request: Request) -> str:
    """The caller's key fingerprint (for the override log line); raises Unauthorized, or
    NotFound while ADMIN_API_KEYS is unset, or IpRateLimited while its address is locked out
    for wrong keys (api/admin_lockout.py, counted with the console's login form)."""
    keys = [key.get_secret_value() for key in request.app.state.settings.admin_api_keys]
    if not keys:
        raise NotFound()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    presented = _digest(token.strip())
    matched = False
    for key in keys:  # every key compared, every time
        matched |= hmac.compare_digest(presented, _digest(key))
    correct = matched and scheme.lower() == "bearer"
    lockout = AdminLockout(services_of(request).limit_storage.windows)
    wait = await lockout.refused_for(client_ip(request), correct=correct)  # a wrong key counted first
    if wait is not None:
        raise IpRateLimited("Too many wrong admin keys from this address, retry later", retry_after=wait)
    if not correct:
        raise Unauthorized("Missing or invalid admin key", headers={"WWW-Authenticate": "Bearer"})
    return "admin:" + presented.hex()[:8]


def _operator(request: Request) -> BreakerOperator:
    operator = services_of(request).fraud_operator
    if operator is None:
        raise NotFound()
    return operator


async def list_breakers(request: Request) -> JSONResponse:
    await require_admin(request)
    return JSONResponse({"breakers": await _operator(request).list()})


async def override(request: Request) -> JSONResponse:
    actor = await require_admin(request)
    scope = request.path_params["scope"]
    key = canonical_key(scope, request.path_params["key"])
    payload = await read_json(request, OverrideRequest)
    wanted = Override(payload.action, payload.ttl, payload.note)
    check_override(scope, key, wanted)
    operator = _operator(request)
    await operator.apply(scope, key, wanted, actor=actor)  # this replica at once; the others within 2 s
    listed = [item for item in await operator.list() if item["scope"] == scope and item["key"] == key]
    state = listed[0] if listed else {"scope": scope, "key": key, "state": "closed"}
    return JSONResponse(state)


class Breaker(BaseModel):
    scope: Literal["prefix", "country"]
    key: str
    state: Literal["open", "half_open", "blocked", "allowed", "closed"]
    settled: int | None = None
    approved: int | None = None
    ratio: float | None = None
    threshold: float | None = None
    openedAt: str | None = None
    retryAt: str | None = None
    reason: str | None = None


class BreakerList(BaseModel):
    breakers: list[Breaker]


api_routes = [
    ApiRoute(
        "GET",
        "/admin/fraud/breakers",
        list_breakers,
        "listBreakers",
        "Breakers that are not closed",
        "fraud",
        responses={200: Answer("Every breaker that is not closed", BreakerList)},
        errors=(Unauthorized, NotFound, IpRateLimited),
        auth="admin_key",
    ),
    ApiRoute(
        "POST",
        "/admin/fraud/breakers/{scope}/{key}",
        override,
        "overrideBreaker",
        "Reset, block or allow a breaker",
        "fraud",
        request=OverrideRequest,
        request_example={"action": "block", "ttl": 3600, "note": "no customers there"},
        path_params={"scope": "prefix or country", "key": "'+' and digits, or ISO alpha-2"},
        responses={200: Answer("The breaker after the action", Breaker)},
        errors=(Unauthorized, NotFound, IpRateLimited),
        auth="admin_key",
    ),
]
routes = mount(api_routes)
