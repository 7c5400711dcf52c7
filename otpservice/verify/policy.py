"""Which numbers may be verified: strict E.164, allowed countries, SMS-capable types, test numbers."""

from collections.abc import Iterable, Mapping

from otpservice.core.phone import can_receive_sms, canonical_e164, is_strict_e164, parse_e164, region_of
from otpservice.errors import CountryNotAllowed, InvalidPhoneNumber, NumberTypeNotAllowed


class NumberPolicy:
    def __init__(self, *, allowed_countries: Iterable[str], mobile_only: bool, test_numbers: Mapping[str, str]) -> None:
        self._allowed_countries = frozenset(code.upper() for code in allowed_countries)
        self._mobile_only = mobile_only
        self._test_numbers = dict(test_numbers)

    def fixed_code_for(self, number: str) -> str | None:
        """The configured code of a test number (OTP_TEST_NUMBERS), else None."""
        return self._test_numbers.get(number)

    def canonical(self, number: str) -> str:
        """The one spelling of `number` that is stored and keyed, or InvalidPhoneNumber.
        Test numbers are taken as configured (they need not be assigned numbers)."""
        if number in self._test_numbers and is_strict_e164(number):
            return number
        canonical = canonical_e164(number)
        if canonical is None:
            raise InvalidPhoneNumber("to must be a valid E.164 phone number (+ and 2 to 15 digits)")
        return canonical

    def ensure_allowed(self, number: str) -> None:
        """Check a (canonical) number a code is about to be sent to. Test numbers skip these checks."""
        if number in self._test_numbers:
            return
        parsed = parse_e164(number)
        if parsed is None:
            raise InvalidPhoneNumber("to must be a valid E.164 phone number")
        if self._allowed_countries and region_of(parsed) not in self._allowed_countries:
            raise CountryNotAllowed()
        if self._mobile_only and not can_receive_sms(parsed):
            raise NumberTypeNotAllowed()
