"""Authenticator apps, natively (SPEC 21): enrol a factor, verify it, check a code for an
identity, list, fetch and delete factors, and recovery codes. The secret, its otpauth:// URI
and the QR code are in the enrolment's answer only."""

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from otpservice import errors
from otpservice.api.body import read_json
from otpservice.api.context import services_of
from otpservice.api.routing import Answer, ApiRoute, mount
from otpservice.api.totp_models import (
    TotpCheckRequest,
    TotpCheckResponse,
    TotpEnrolment,
    TotpFactor,
    TotpFactorCreate,
    TotpFactorList,
    TotpFactorQuery,
    TotpRecoveryCodes,
    TotpRecoveryRequest,
    TotpVerifyRequest,
)
from otpservice.clock import iso
from otpservice.errors import InvalidRequest
from otpservice.totp.codes import TotpConfig
from otpservice.totp.ports import FactorRecord
from otpservice.totp.service import TotpService


def totp_of(request: Request) -> TotpService:
    service = services_of(request).totp
    assert service is not None  # built by wiring with every other service
    return service


def factor_fields(factor: FactorRecord) -> dict[str, Any]:
    return {
        "id": factor.sid,
        "identity": factor.identity,
        "label": factor.friendly_name,
        "issuer": factor.issuer,
        "status": factor.status,
        "digits": factor.digits,
        "period": factor.period,
        "algorithm": factor.algorithm,
        "skew": factor.skew,
        "createdAt": iso(factor.created_at.timestamp()),
        "updatedAt": iso(factor.updated_at.timestamp()),
    }


async def create_factor(request: Request) -> JSONResponse:
    totp = totp_of(request)
    payload = await read_json(request, TotpFactorCreate)
    skew = payload.skew if payload.skew is not None else totp.rules.skew
    config = TotpConfig(digits=payload.digits, period=payload.period, algorithm=payload.algorithm, skew=skew)
    enrolment = await totp.enrol(payload.identity, label=payload.label, issuer=payload.issuer, config=config)
    body = {**factor_fields(enrolment.factor), "secret": enrolment.secret, "uri": enrolment.uri}
    return JSONResponse({**body, "qrSvg": enrolment.qr_svg}, status_code=201)


async def list_factors(request: Request) -> JSONResponse:
    identity = request.query_params.get("identity", "")
    if not identity:
        raise InvalidRequest("query must have required property 'identity'")
    factors = await totp_of(request).factors_of(identity)
    return JSONResponse({"factors": [factor_fields(factor) for factor in factors]})


async def get_factor(request: Request) -> JSONResponse:
    return JSONResponse(factor_fields(await totp_of(request).factor(request.path_params["factor_id"])))


async def verify_factor(request: Request) -> JSONResponse:
    payload = await read_json(request, TotpVerifyRequest)
    factor = await totp_of(request).verify(request.path_params["factor_id"], payload.code)
    return JSONResponse(factor_fields(factor))


async def delete_factor(request: Request) -> Response:
    await totp_of(request).delete(request.path_params["factor_id"])
    return Response(status_code=204)


async def check(request: Request) -> JSONResponse:
    payload = await read_json(request, TotpCheckRequest)
    result = await totp_of(request).check(payload.identity, payload.code)
    return JSONResponse(
        {
            "status": "approved" if result.approved else "denied",
            "factorId": result.factor_sid,
            "recoveryCode": result.recovery_code,
        }
    )


async def recovery_codes(request: Request) -> JSONResponse:
    payload = await read_json(request, TotpRecoveryRequest)
    codes = await totp_of(request).new_recovery_codes(payload.identity)
    return JSONResponse({"identity": payload.identity, "codes": codes}, status_code=201)


ID_PARAM = {"factor_id": "Factor id (YF + 32 hex)"}
LOCKED = (
    "429 `max_attempts_reached` (with Retry-After): five wrong codes in 15 minutes lock a factor until its window ends."
)

api_routes = [
    ApiRoute(
        "POST",
        "/totp/factors",
        create_factor,
        "createTotpFactor",
        "Enrol an authenticator app: a new factor, its secret, otpauth:// URI and QR code (shown once)",
        "totp",
        request=TotpFactorCreate,
        request_example={"identity": "user-1234", "label": "alice@example.com"},
        responses={201: Answer("The new factor, `unverified` until a right code comes", TotpEnrolment)},
        description="An identity without factors gets one. Show `qrSvg` (or `uri`) to the user once, "
        "then verify the factor with a code from the app.",
    ),
    ApiRoute(
        "GET",
        "/totp/factors",
        list_factors,
        "listTotpFactors",
        "An identity's factors (never a secret)",
        "totp",
        query=TotpFactorQuery,
        responses={200: Answer("The factors, oldest first", TotpFactorList)},
        errors=(InvalidRequest,),
    ),
    ApiRoute(
        "GET",
        "/totp/factors/{factor_id}",
        get_factor,
        "getTotpFactor",
        "A factor (never its secret)",
        "totp",
        path_params=ID_PARAM,
        responses={200: Answer("The factor", TotpFactor)},
        errors=(errors.FactorNotFound,),
    ),
    ApiRoute(
        "POST",
        "/totp/factors/{factor_id}/verify",
        verify_factor,
        "verifyTotpFactor",
        "Verify a factor with a code from the app",
        "totp",
        path_params=ID_PARAM,
        request=TotpVerifyRequest,
        request_example={"code": "123456"},
        responses={200: Answer("The factor: `verified` when the code was right, else as it was", TotpFactor)},
        errors=(errors.FactorNotFound, errors.MaxAttemptsReached),
        description=LOCKED,
    ),
    ApiRoute(
        "DELETE",
        "/totp/factors/{factor_id}",
        delete_factor,
        "deleteTotpFactor",
        "Delete a factor",
        "totp",
        path_params=ID_PARAM,
        responses={204: Answer("Deleted")},
        errors=(errors.FactorNotFound,),
    ),
    ApiRoute(
        "POST",
        "/totp/check",
        check,
        "checkTotpCode",
        "Check a code (or a recovery code) for an identity",
        "totp",
        request=TotpCheckRequest,
        request_example={"identity": "user-1234", "code": "123456"},
        responses={200: Answer("Checked: each code is approved once per factor and time step", TotpCheckResponse)},
        errors=(errors.EntityNotFound, errors.MaxAttemptsReached),
        description="Any verified factor of the identity; a recovery code is approved once. " + LOCKED,
    ),
    ApiRoute(
        "POST",
        "/totp/recovery-codes",
        recovery_codes,
        "createTotpRecoveryCodes",
        "Ten new single-use recovery codes (shown once; earlier ones stop working)",
        "totp",
        request=TotpRecoveryRequest,
        request_example={"identity": "user-1234"},
        responses={201: Answer("The codes", TotpRecoveryCodes)},
        errors=(errors.EntityNotFound,),
        description="The identity needs a verified factor.",
    ),
]
routes = mount(api_routes)
