"""Phone numbers, the one home: strict E.164 parsing, the canonical form, sender rules, masking.

Only one spelling per phone gets in: `+`, then 2 to 15 ASCII digits, the first not 0, and
nothing else (no whitespace, no line break, no other script's digits). What is stored, keyed
in every limit and sent to a provider is phonenumbers' E.164 format of the parsed number.
"""

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

# fullmatch with explicit ASCII classes: `$` accepts a trailing newline and `\d` other scripts' digits.
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_ALPHANUMERIC_SENDER = re.compile(r"(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11}")

# Types that can receive an SMS; everything else (FIXED_LINE alone, PREMIUM_RATE,
# SHARED_COST, TOLL_FREE, VOIP, PAGER, UAN, VOICEMAIL, UNKNOWN) is refused for OTP.
SMS_CAPABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@lru_cache(maxsize=4096)  # one request parses the same number several times, layer by layer
def parse_e164(value: str) -> PhoneNumber | None:
    """The parsed number when `value` is a valid E.164 number, else None."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return number


def is_strict_e164(value: str) -> bool:
    """The form alone: `+`, 2 to 15 ASCII digits, the first not 0, nothing else."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def is_valid_e164(value: str) -> bool:
    return parse_e164(value) is not None


def canonical_e164(value: str) -> str | None:
    """phonenumbers' E.164 form of a strictly typed number (e.g. "+44 0 7911..." typed as
    "+4407911123456" becomes "+447911123456"), or None when `value` is not valid E.164."""
    number = parse_e164(value)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_alphanumeric_sender(value: str) -> bool:
    return isinstance(value, str) and bool(_ALPHANUMERIC_SENDER.fullmatch(value))


def canonical_sender(value: str) -> str | None:
    """An alphanumeric sender as typed, a number sender in its E.164 form, else None."""
    if is_alphanumeric_sender(value):
        return value
    return canonical_e164(value)


def is_valid_sender(value: str) -> bool:
    return canonical_sender(value) is not None


def region_of(number: PhoneNumber) -> str | None:
    return phonenumbers.region_code_for_number(number)


def country_of(value: str) -> str | None:
    """The ISO alpha-2 region of an E.164 number, None when it has none (invalid, non-geographic)."""
    number = parse_e164(value)
    region = region_of(number) if number is not None else None
    return region if region and len(region) == 2 and region.isalpha() and region != "ZZ" else None


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
