"""Requests of the Twilio-compatible API: HTTP Basic auth and form-encoded parameters."""

import base64
import binascii
import hashlib
import hmac
from urllib.parse import parse_qsl

from starlette.requests import Request

from otpservice.api.body import read_body
from otpservice.errors import InvalidRequest, Unauthorized

# The account_sid echoed when the caller sent no user name (API_KEYS unset).
ANONYMOUS_ACCOUNT = "AC" + "0" * 32
MAX_FIELDS = 50
FALSE_VALUES = ("", "false")
# Why a parameter Twilio knows is refused (when set to anything but false or empty).
UNSUPPORTED = {
    "Amount": "PSD2",
    "Payee": "PSD2",
    "Psd2Enabled": "PSD2",
    "LookupEnabled": "Lookup",
    "SkipSmsToLandlines": "Lookup",
    "CustomCode": "custom codes",
    "CustomCodeEnabled": "custom codes",
    "CustomFriendlyName": "a per-verification name",
    "CustomMessage": "custom messages",
    "SnaClientToken": "silent network auth",
    "EnableSnaClientToken": "silent network auth",
}


def _digest(value: str) -> bytes:
    # Digests have one length, so compare_digest's time does not depend on the key's length.
    return hashlib.sha256(value.encode()).digest()


def basic_credentials(request: Request) -> tuple[str, str | None]:
    """The Basic user name and password ("", None when there are none)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return "", None
    try:
        user, sep, secret = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", None
    return user, secret if sep else None


def account_of(request: Request) -> str:
    """The caller's account SID (its Basic user name); raises Unauthorized (20003) when
    API_KEYS is set and the Basic password is none of them."""
    user, password = basic_credentials(request)
    keys = request.app.state.settings.api_keys
    if keys:
        presented = _digest(password or "")
        matched = False
        for key in keys:  # no early exit: every key is compared, every time
            matched |= hmac.compare_digest(presented, _digest(key.get_secret_value()))
        if password is None or not matched:
            raise Unauthorized("Authentication Error - invalid username or API key")
    return user if user and len(user) <= 64 and user.isprintable() else ANONYMOUS_ACCOUNT


async def read_form(request: Request) -> dict[str, str]:
    raw = await read_body(request)
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("Invalid parameter: the body must be form-encoded UTF-8") from None


def required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise InvalidRequest(f"Invalid parameter: {name} (required)")
    return value


def refuse_unsupported(form: dict[str, str], supported: set[str], ignored: frozenset[str]) -> None:
    for name, value in form.items():
        if name in supported or name in ignored or value.lower() in FALSE_VALUES:
            continue
        feature = UNSUPPORTED.get(name)
        why = f"{feature} is not supported by otpservice" if feature else "not supported by otpservice"
        raise InvalidRequest(f"Invalid parameter: {name} ({why})")
