"""E.164 validation (phonenumbers), sender rules and masking for logs."""

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")

# Types that can receive an SMS; everything else (FIXED_LINE alone, PREMIUM_RATE,
# SHARED_COST, TOLL_FREE, VOIP, PAGER, UAN, VOICEMAIL, UNKNOWN) is refused for OTP.
SMS_CAPABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@lru_cache(maxsize=4096)  # one request parses the same number several times, layer by layer
def parse_e164(value: str) -> PhoneNumber | None:
    """The parsed number when `value` is a valid E.164 number, else None."""
    if not isinstance(value, str) or not _E164.match(value):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return number


def is_valid_e164(value: str) -> bool:
    return parse_e164(value) is not None


def is_valid_sender(value: str) -> bool:
    return bool(_ALPHANUMERIC_SENDER.match(value)) or is_valid_e164(value)


def region_of(number: PhoneNumber) -> str | None:
    return phonenumbers.region_code_for_number(number)


def can_receive_sms(number: PhoneNumber) -> bool:
    return phonenumbers.number_type(number) in SMS_CAPABLE_TYPES


def mask_phone(value: str) -> str:
    """'+393331234567' -> '+39******4567': country code and last four digits only."""
    digits = value.lstrip("+")
    if not digits.isdigit() or len(digits) < 6:
        return "***"
    number = parse_e164("+" + digits)  # cached: the numbers we log are ones we just validated
    country = str(number.country_code) if number is not None else _country_code_guess(digits)
    hidden = len(digits) - len(country) - 4
    if hidden < 2:
        return "+" + country + "*" * max(len(digits) - len(country), 2)
    return "+" + country + "*" * hidden + digits[-4:]


def _country_code_guess(digits: str) -> str:
    try:
        return str(phonenumbers.parse("+" + digits, None).country_code)
    except phonenumbers.NumberParseException:
        return digits[:1]
