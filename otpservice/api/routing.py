"""The route table: each API route declared once, mounted from it and documented from it.

To add a route, declare an `ApiRoute` in your route module and put it in that module's
`api_routes` list, which app.py's `API_ROUTES` gathers; `ApiRoute.mount()` gives the
Starlette route. /openapi.json is built from `API_ROUTES` alone (api/openapi.py), so it
never varies with configuration: a route that a setting turns off stays declared and
answers 404 (list NotFound in its `errors`).

A native route lists the OTPServiceError classes it can raise in `errors`; their `code` comes
from errors.py, their status from api/errors.py. The table adds what every route of its kind
can answer: 500, 401 (`auth="api_key"`), 400 and 413 (a `request` body). A route whose
errors have another body (the Twilio-compatible /v2 API) sets `native_errors=False` and lists
every status it can answer (401 included) in `responses`, with its own pydantic model for
that body.

A route that is not part of the API (an HTML page, static files) is mounted as a plain
Starlette `Route(..., include_in_schema=False)`; tests/ops/test_openapi.py fails for any
route that is neither declared here nor explicitly left out that way.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from otpservice.errors import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidRequest,
    OTPServiceError,
    PayloadTooLarge,
    Unauthorized,
)

# api_key: Bearer, one of API_KEYS. admin_key: Bearer, one of ADMIN_API_KEYS. basic: HTTP Basic
# with one of API_KEYS as the password (Twilio clients). none: open (operations, webhooks, docs).
Auth = Literal["api_key", "admin_key", "basic", "none"]
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
UNMATCHED = "<unmatched>"


@dataclass(frozen=True)
class Answer:
    """One documented success (or non-native error) response."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    # Response headers by name: "Retry-After", or the X-RateLimit-* of RATE_LIMIT_HEADERS.
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    endpoint: Callable[..., Any]
    operation_id: str
    summary: str
    tag: str
    responses: Mapping[int, Answer]
    errors: tuple[type[OTPServiceError], ...] = ()
    request: type[BaseModel] | None = None
    request_media: tuple[str, ...] = ("application/json",)
    request_example: Mapping[str, Any] | None = None
    query: type[BaseModel] | None = None
    path_params: Mapping[str, str] = field(default_factory=dict)  # name -> description
    auth: Auth = "api_key"
    description: str | None = None
    # Native error body (api/errors.py) or not: /v2 answers Twilio's, declared in `responses`.
    native_errors: bool = True
    # Takes an Idempotency-Key header (api/idempotency.py): mounted wrapped, documented with it.
    idempotent: bool = False

    def all_errors(self) -> tuple[type[OTPServiceError], ...]:
        """The declared errors plus those every route of this kind can answer."""
        implied: list[type[OTPServiceError]] = []
        if self.idempotent:
            implied += [IdempotencyInProgress, IdempotencyKeyReused]
        if self.native_errors:
            if self.request is not None:
                implied += [InvalidRequest, PayloadTooLarge]
            if self.auth == "api_key":
                implied.append(Unauthorized)
            implied.append(OTPServiceError)  # 500 internal_error: what an unhandled exception answers
        return tuple(dict.fromkeys([*self.errors, *implied]))

    def mount(self) -> Route:
        return DocumentedRoute(self)


class DocumentedRoute(Route):
    """A Starlette route made from an ApiRoute (the drift test tells them apart)."""

    def __init__(self, api: ApiRoute) -> None:
        endpoint = api.endpoint
        if api.idempotent:
            # Imported here: api/idempotency.py answers through api/errors.py, which imports this module.
            from otpservice.api.idempotency import idempotent

            endpoint = idempotent(endpoint)
        super().__init__(api.path, endpoint, methods=[api.method], name=api.operation_id)
        self.api = api


def mount(api_routes: list[ApiRoute]) -> list[Route]:
    return [api.mount() for api in api_routes]


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/verify/{id}`), never the raw path."""
    route = scope.get("route")
    if route is None:
        # Refused before routing (e.g. 401): find the route the request was aimed at.
        app = scope.get("app")
        routes: list[BaseRoute] = list(getattr(app, "routes", []))
        route = next((r for r in routes if r.matches(scope)[0] is not Match.NONE), None)
    if route is None:
        return UNMATCHED
    return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))
