"""Twilio Verify v2 JSON (SPEC 11): Services, Verifications, VerificationChecks and errors,
in Twilio's field names and the one date format its SDKs parse."""

from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse

from otpservice.api.errors import response_headers, status_of
from otpservice.db.models import VerifyService
from otpservice.errors import OTPServiceError
from otpservice.verify.views import VerificationView

# Our error code -> (HTTP status, Twilio code). Anything else keeps its status; its Twilio
# code is 20429 for a 429, else 20000 + status (20403, 20500, 20503... as Twilio's own).
TWILIO_ERRORS: dict[str, tuple[int, int]] = {
    "invalid_request": (400, 60200),
    "invalid_phone_number": (400, 60200),
    "invalid_email": (400, 60200),
    "channel_unavailable": (400, 60223),  # Twilio: "Delivery channel disabled"
    "unauthorized": (401, 20003),
    "not_found": (404, 20404),
    "verification_not_found": (404, 20404),
    "method_not_allowed": (405, 20004),
    "country_not_allowed": (403, 60605),
    "number_type_not_allowed": (403, 60205),
    "max_sends_reached": (429, 60203),
    "max_attempts_reached": (429, 60202),
    "destination_suspended": (429, 60410),
    "limits_unavailable": (503, 20503),
    "entity_not_found": (404, 20404),
    "factor_not_found": (404, 20404),
    "challenge_not_found": (404, 20404),
    "factor_not_verified": (403, 60318),
}


def twilio_date(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def twilio_error(exc: OTPServiceError, message: str | None = None, *, twilio_code: int | None = None) -> JSONResponse:
    """`twilio_code` replaces the table's code where Twilio names one per resource (60310, 60308)."""
    native = status_of(exc)
    status, code = TWILIO_ERRORS.get(exc.code, (native, 20429 if native == 429 else 20000 + native))
    code = twilio_code or code
    headers = response_headers(exc)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="otpservice"'
    body = {
        "code": code,
        "message": message or exc.message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def service_json(service: VerifyService, *, account_sid: str, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/v2/Services/{service.sid}"
    return {
        "sid": service.sid,
        "account_sid": account_sid,
        "friendly_name": service.friendly_name,
        "code_length": service.code_length,
        "lookup_enabled": False,
        "psd2_enabled": False,
        "skip_sms_to_landlines": False,
        "dtmf_input_required": False,
        "tts_name": None,
        # Every message of ours already says not to share the code.
        "do_not_share_warning_enabled": True,
        "custom_code_enabled": False,
        "push": {"include_date": False, "apn_credential_sid": None, "fcm_credential_sid": None},
        "totp": {"issuer": None, "time_step": None, "code_length": None, "skew": None},
        "whatsapp": {"msg_service_sid": None, "from": None},
        "default_template_sid": None,
        "verify_event_subscription_enabled": False,
        "date_created": twilio_date(service.created_at.timestamp()),
        "date_updated": twilio_date(service.updated_at.timestamp()),
        "url": url,
        "links": {"verifications": f"{url}/Verifications", "verification_checks": f"{url}/VerificationCheck"},
    }


def _common(found: VerificationView, *, account_sid: str, service_sid: str, valid: bool) -> dict[str, Any]:
    return {
        "sid": found.id,
        "service_sid": service_sid,
        "account_sid": account_sid,
        "to": found.to,
        "channel": found.channel,
        "status": found.status,
        "valid": valid,
        "amount": None,
        "payee": None,
        "date_created": twilio_date(found.created_at),
        "date_updated": twilio_date(found.updated_at if found.updated_at is not None else found.created_at),
    }


def verification_json(
    found: VerificationView,
    *,
    account_sid: str,
    service_sid: str,
    base_url: str,
    attempts: list[tuple[float, str]] | None = None,
) -> dict[str, Any]:
    return {
        **_common(found, account_sid=account_sid, service_sid=service_sid, valid=found.status == "approved"),
        "lookup": {},
        "send_code_attempts": send_code_attempts(found, attempts),
        "sna": None,
        "url": f"{base_url}/v2/Services/{service_sid}/Verifications/{found.id}",
    }


def check_json(found: VerificationView, valid: bool, *, account_sid: str, service_sid: str) -> dict[str, Any]:
    return {
        **_common(found, account_sid=account_sid, service_sid=service_sid, valid=valid),
        "sna_attempts_error_codes": [],
    }


def send_code_attempts(
    found: VerificationView, attempts: list[tuple[float, str]] | None = None
) -> list[dict[str, Any]]:
    """One entry per send: `attempts` (time, channel) from its message rows when it has them
    (a fallback shows its own channel). Else only the first and the last send times are kept,
    so the ones between are shown at the last send's time."""
    if attempts:
        return [
            {"time": twilio_date(at), "channel": channel, "attempt_sid": f"VL{found.id[2:-2]}{index:02x}"}
            for index, (at, channel) in enumerate(attempts[:255])
        ]
    last = found.last_sent_at if found.last_sent_at is not None else found.created_at
    times = [found.created_at] + [last] * max(0, found.send_attempts - 1)
    return [
        {"time": twilio_date(at), "channel": found.channel, "attempt_sid": f"VL{found.id[2:-2]}{index:02x}"}
        for index, at in enumerate(times[: found.send_attempts])
    ]
