"""Twilio Verify's Entities, Factors (FactorType=totp) and Challenges (SPEC 21), under
/v2/Services/{VA}/Entities, so that the official SDK enrols, verifies and challenges unchanged.

Form in, Twilio's JSON and errors out; auth and form handling are twilio_verify.py's. One
namespace of identities is shared with the native /totp routes: an entity made under a Service
is found under that Service only, one made natively under every Service.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from otpservice.api.twilio_form import required
from otpservice.api.twilio_render import twilio_error
from otpservice.api.twilio_totp_render import Where, challenge_json, entity_json, factor_json, page_json
from otpservice.api.twilio_verify import Call, endpoint
from otpservice.errors import EntityNotFound, InvalidRequest, MaxAttemptsReached, MethodNotAllowed, NotFound
from otpservice.observability import metrics
from otpservice.totp.challenges import ChallengeService
from otpservice.totp.codes import DIGESTS, TotpConfig, is_base32_secret
from otpservice.totp.service import TotpService, check_identity

FACTOR_ATTEMPTS, CHALLENGE_ATTEMPTS = 60310, 60308
MAX_FRIENDLY_NAME = 64


def _totp(call: Call) -> tuple[TotpService, ChallengeService]:
    totp, challenges = call.services.totp, call.services.totp_challenges
    assert totp is not None and challenges is not None  # built by wiring
    return totp, challenges


async def _where(call: Call) -> Where:
    service = await call.service()
    return Where(call.account_sid, service.sid, call.base_url, service.friendly_name)


async def _identity(call: Call, where: Where) -> str:
    """The path's identity, when its entity is visible under this Service (or does not exist yet)."""
    identity = check_identity(call.request.path_params["identity"])
    found = await _totp(call)[0].find_entity(identity)
    if found is not None and found.service_sid not in (None, where.service_sid):
        raise EntityNotFound("Entity not found")  # another Service's
    return identity  # its entity, or none yet (creating a factor makes it)


def _refused(exc: MaxAttemptsReached, twilio_code: int) -> Response:
    metrics.limit_refusal(exc.code)
    return twilio_error(exc, "Too many verification attempts, retry later", twilio_code=twilio_code)


def _number(form: dict[str, str], name: str, low: int, high: int, default: int) -> int:
    text = form.get(name) or str(default)
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidRequest(f"Invalid parameter: {name} (an integer from {low} to {high})")
    return int(text)


async def create_entity(call: Call) -> Response:
    where = await _where(call)
    identity = check_identity(required(call.form, "Identity"))
    entity = await _totp(call)[0].create_entity(identity, where.service_sid)
    if entity.service_sid not in (None, where.service_sid):
        raise InvalidRequest("Invalid parameter: Identity (an entity of another Service)")
    return JSONResponse(entity_json(entity, where), status_code=201)


async def list_entities(call: Call) -> Response:
    where = await _where(call)
    entities = [entity_json(entity, where) for entity in await _totp(call)[0].entities(where.service_sid)]
    return JSONResponse(page_json("entities", entities, where.entities))


async def fetch_entity(call: Call) -> Response:
    where = await _where(call)
    return JSONResponse(
        entity_json(await _totp(call)[0].entity(await _identity(call, where), where.service_sid), where)
    )


async def delete_entity(call: Call) -> Response:
    where = await _where(call)
    await _totp(call)[0].delete_entity(await _identity(call, where), where.service_sid)
    return Response(status_code=204)


async def create_factor(call: Call) -> Response:
    where = await _where(call)
    identity = await _identity(call, where)
    totp = _totp(call)[0]
    if required(call.form, "FactorType") != "totp":
        raise InvalidRequest("Invalid parameter: FactorType (only 'totp' is supported by otpservice)")
    name = required(call.form, "FriendlyName")
    if len(name) > MAX_FRIENDLY_NAME or not name.isprintable() or ":" in name:
        raise InvalidRequest(f"Invalid parameter: FriendlyName (1 to {MAX_FRIENDLY_NAME} printable characters)")
    secret = call.form.get("Binding.Secret") or None
    if secret is not None and not is_base32_secret(secret.upper()):
        raise InvalidRequest("Invalid parameter: Binding.Secret (Base32, at least 26 characters)")
    algorithm = call.form.get("Config.Alg") or "sha1"
    if algorithm not in DIGESTS:
        raise InvalidRequest("Invalid parameter: Config.Alg (sha1, sha256 or sha512)")
    config = TotpConfig(
        digits=_number(call.form, "Config.CodeLength", 3, 8, 6),
        period=_number(call.form, "Config.TimeStep", 20, 60, 30),
        algorithm=algorithm,
        skew=_number(call.form, "Config.Skew", 0, 2, totp.rules.skew),
    )
    issuer = where.service_name.replace(":", " ")
    enrolment = await totp.enrol(
        identity,
        label=name,
        issuer=issuer,
        config=config,
        secret=secret.upper() if secret else None,
        service_sid=where.service_sid,
    )
    binding = {"secret": enrolment.secret, "uri": enrolment.uri}
    return JSONResponse(factor_json(enrolment.factor, where, binding), status_code=201)


async def list_factors(call: Call) -> Response:
    where = await _where(call)
    identity = await _identity(call, where)
    factors = [factor_json(factor, where) for factor in await _totp(call)[0].factors_of(identity)]
    return JSONResponse(page_json("factors", factors, f"{where.entities}/{identity}/Factors"))


async def fetch_factor(call: Call) -> Response:
    where = await _where(call)
    identity = await _identity(call, where)
    return JSONResponse(factor_json(await _totp(call)[0].factor(call.request.path_params["sid"], identity), where))


async def update_factor(call: Call) -> Response:
    """Verify with AuthPayload: a wrong code answers the factor still `unverified` (Twilio since 2021)."""
    where = await _where(call)
    identity = await _identity(call, where)
    code = required(call.form, "AuthPayload")
    try:
        factor = await _totp(call)[0].verify(call.request.path_params["sid"], code, identity)
    except MaxAttemptsReached as exc:
        return _refused(exc, FACTOR_ATTEMPTS)
    return JSONResponse(factor_json(factor, where))


async def delete_factor(call: Call) -> Response:
    where = await _where(call)
    await _totp(call)[0].delete(call.request.path_params["sid"], await _identity(call, where))
    return Response(status_code=204)


def _expiration(form: dict[str, str]) -> float | None:
    text = form.get("ExpirationDate") or None
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest("Invalid parameter: ExpirationDate (ISO 8601)") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


async def create_challenge(call: Call) -> Response:
    where = await _where(call)
    identity = await _identity(call, where)
    factor_sid = required(call.form, "FactorSid")
    code = call.form.get("AuthPayload") or None
    try:
        challenge = await _totp(call)[1].create(identity, factor_sid, code, _expiration(call.form))
    except MaxAttemptsReached as exc:
        return _refused(exc, CHALLENGE_ATTEMPTS)
    return JSONResponse(challenge_json(challenge, where), status_code=201)


async def list_challenges(call: Call) -> Response:
    where = await _where(call)
    identity = await _identity(call, where)
    found = [challenge_json(challenge, where) for challenge in await _totp(call)[1].of(identity)]
    return JSONResponse(page_json("challenges", found, f"{where.entities}/{identity}/Challenges"))


async def fetch_challenge(call: Call) -> Response:
    where = await _where(call)
    identity = await _identity(call, where)
    return JSONResponse(challenge_json(await _totp(call)[1].get(identity, call.request.path_params["sid"]), where))


async def update_challenge(call: Call) -> Response:
    where = await _where(call)
    identity = await _identity(call, where)
    code = required(call.form, "AuthPayload")
    try:
        challenge = await _totp(call)[1].respond(identity, call.request.path_params["sid"], code)
    except MaxAttemptsReached as exc:
        return _refused(exc, CHALLENGE_ATTEMPTS)
    return JSONResponse(challenge_json(challenge, where))


async def unknown(call: Call) -> Response:
    if any(route.matches(call.request.scope)[0] is Match.PARTIAL for route in _routes):
        raise MethodNotAllowed()
    raise NotFound()


ENTITIES = "/v2/Services/{service_sid}/Entities"
FACTOR_IGNORED = frozenset({"Metadata"})  # kept by Twilio for the app; not stored here
CHALLENGE_IGNORED = frozenset({"Details.Message", "Details.Fields", "HiddenDetails"})  # push challenges only
FACTOR_FIELDS = {
    "FriendlyName",
    "FactorType",
    "Binding.Secret",
    "Config.TimeStep",
    "Config.Skew",
    "Config.CodeLength",
    "Config.Alg",
}
Endpoint = Callable[..., Awaitable[Response]]


def _route(path: str, handler: Endpoint, method: str) -> Route:
    return Route(ENTITIES + path, handler, methods=[method], include_in_schema=False)


_routes = [
    _route("", endpoint(create_entity, {"Identity"}), "POST"),
    _route("", endpoint(list_entities), "GET"),
    _route("/{identity}", endpoint(fetch_entity), "GET"),
    _route("/{identity}", endpoint(delete_entity), "DELETE"),
    _route("/{identity}/Factors", endpoint(create_factor, FACTOR_FIELDS, FACTOR_IGNORED), "POST"),
    _route("/{identity}/Factors", endpoint(list_factors), "GET"),
    _route("/{identity}/Factors/{sid}", endpoint(fetch_factor), "GET"),
    _route("/{identity}/Factors/{sid}", endpoint(update_factor, {"AuthPayload"}), "POST"),
    _route("/{identity}/Factors/{sid}", endpoint(delete_factor), "DELETE"),
    _route(
        "/{identity}/Challenges",
        endpoint(create_challenge, {"FactorSid", "AuthPayload", "ExpirationDate"}, CHALLENGE_IGNORED),
        "POST",
    ),
    _route("/{identity}/Challenges", endpoint(list_challenges), "GET"),
    _route("/{identity}/Challenges/{sid}", endpoint(fetch_challenge), "GET"),
    _route("/{identity}/Challenges/{sid}", endpoint(update_challenge, {"AuthPayload"}), "POST"),
]
ANY = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Mounted before twilio_verify's /v2: everything under Entities answers here (405 for a wrong method).
routes = [
    *_routes,
    Route(ENTITIES, endpoint(unknown), methods=ANY, include_in_schema=False),
    Route(ENTITIES + "/{rest:path}", endpoint(unknown), methods=ANY, include_in_schema=False),
]
