"""Twilio Programmable Messaging JSON (SPEC 22; CHANNELS-AND-MESSAGING.md section 1): the
Message resource, its list page and Twilio's error body with the Messages API's codes."""

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.responses import JSONResponse

from otpservice.api.errors import response_headers, status_of
from otpservice.db.app_messages import AppMessageView
from otpservice.errors import OTPServiceError

API_VERSION = "2010-04-01"
# Our error code -> (HTTP status, Twilio code). Any other keeps its status; its Twilio code is
# 20429 for a 429, else 20000 + status (20401, 20503...), as Twilio's own.
MESSAGE_ERRORS: dict[str, tuple[int, int]] = {
    "invalid_phone_number": (400, 21211),
    "recipient_opted_out": (400, 21610),
    "number_blocked": (400, 21610),
    "sender_not_allowed": (400, 21606),
    "country_not_allowed": (400, 21408),
    "number_type_not_allowed": (400, 21614),
    "invalid_request": (400, 21212),  # what the send refuses of its input beyond To and Body: the sender
    "unauthorized": (401, 20003),
    "not_found": (404, 20404),
    "message_not_found": (404, 20404),
    "method_not_allowed": (405, 20004),
    "limits_unavailable": (503, 20503),
}
OPTED_OUT_MESSAGE = "Attempt to send to unsubscribed recipient"


def twilio_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def message_error(exc: OTPServiceError, message: str | None = None) -> JSONResponse:
    native = status_of(exc)
    status, code = MESSAGE_ERRORS.get(exc.code, (native, 20429 if native == 429 else 20000 + native))
    headers = response_headers(exc)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="otpservice"'
    if exc.code == "recipient_opted_out":
        message = message or OPTED_OUT_MESSAGE
    return JSONResponse(twilio_body(status, code, message or exc.message), status_code=status, headers=headers)


def rfc2822(moment: datetime | None) -> str | None:
    """`Thu, 30 Jul 2015 20:12:31 +0000`, the form Twilio answers and its SDKs parse."""
    return None if moment is None else format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def sm_sid(message_id: str) -> str:
    """Our message ids are MS + 32 hex; Twilio's message SIDs SM + 32 hex: the same hex."""
    return "SM" + message_id[2:]


def message_id_of(sid: str) -> str | None:
    if len(sid) != 34 or not sid.startswith("SM"):
        return None
    try:
        int(sid[2:], 16)
    except ValueError:
        return None
    return "MS" + sid[2:].lower()


def message_uri(account_sid: str, message_id: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sm_sid(message_id)}.json"


def message_json(view: AppMessageView) -> dict[str, Any]:
    app, message = view.app, view.message
    uri = message_uri(app.account_sid, message.id)
    error_code = message.error_code if message.status in ("failed", "undelivered") else None
    return {
        "account_sid": app.account_sid,
        "api_version": API_VERSION,
        "body": app.body,
        "date_created": rfc2822(app.created_at),
        "date_sent": rfc2822(view.date_sent),
        "date_updated": rfc2822(message.updated_at),
        "direction": "outbound-api",
        "error_code": int(error_code) if error_code and error_code.isdigit() else None,
        "error_message": message.error_message if error_code else None,
        "from": message.sender,
        "messaging_service_sid": app.messaging_service_sid,
        "num_media": "0",
        "num_segments": str(message.segments),
        "price": None,
        "price_unit": "USD",
        "sid": sm_sid(message.id),
        "status": message.status,
        "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
        "to": message.receiver,
        "uri": uri,
    }
