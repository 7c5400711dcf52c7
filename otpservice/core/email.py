"""Email addresses: the one spelling a code is sent to, stored and keyed under (email-validator)."""

from email_validator import EmailNotValidError, validate_email

from otpservice.core.phone import mask_phone
from otpservice.errors import InvalidEmail

MAX_ADDRESS = 254  # RFC 5321's path limit, and the column's size


def canonical_email(address: str) -> str:
    """The normalised address (domain lower-cased and IDNA-checked, local part as given),
    or InvalidEmail. No DNS lookup: a start must not wait on a resolver."""
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"to must be a valid email address ({exc})") from None
    if len(valid.normalized) > MAX_ADDRESS:
        raise InvalidEmail("to must be a valid email address (too long)")
    return valid.normalized


def is_email(destination: str) -> bool:
    """A stored destination is an email address (a phone number never holds @)."""
    return "@" in destination


def mask_destination(value: str) -> str:
    """A number as mask_phone shows it; an address as 'a***@example.com'."""
    if "@" not in value:
        return mask_phone(value)
    local, _, domain = value.rpartition("@")
    return f"{local[:1]}***@{domain}"
