import pytest

from otpservice.core.phone import can_receive_sms, is_valid_e164, is_valid_sender, mask_phone, parse_e164


@pytest.mark.parametrize("number", ["+393331234567", "+14155552671", "+447911123456"])
def test_valid_e164(number: str) -> None:
    assert is_valid_e164(number)


@pytest.mark.parametrize(
    "number", ["393331234567", "+39 333 1234567", "+1415555267", "+0123456789", "", "+", "+3933312345678901", "abc"]
)
def test_invalid_e164(number: str) -> None:
    assert not is_valid_e164(number)


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("ACME", True),
        ("Acme Bank 1", True),
        ("A", True),
        ("ACME BANK 12", False),
        ("12345", False),
        ("+393331234567", True),
        ("AC-ME", False),
        ("", False),
    ],
)
def test_sender_rules(sender: str, ok: bool) -> None:
    assert is_valid_sender(sender) is ok


def test_mask_keeps_country_and_last_four() -> None:
    assert mask_phone("+393331234567") == "+39******4567"
    assert mask_phone("+14155552671") == "+1******2671"
    assert "1234567" not in mask_phone("+393331234567")


def test_number_types() -> None:
    mobile = parse_e164("+393331234567")
    landline = parse_e164("+390212345678")
    assert mobile is not None and can_receive_sms(mobile)
    assert landline is not None and not can_receive_sms(landline)


def test_country_of_is_the_iso_region_or_none() -> None:
    from otpservice.core.phone import country_of

    assert country_of("+447400123400") == "GB"
    assert country_of("+4915123456700") == "DE"
    assert country_of("+80012345678") is None  # non-geographic (region 001)
    assert country_of("not a number") is None and country_of("+44") is None
