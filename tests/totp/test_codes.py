"""The code rules on a given time: RFC 6238's own test values, the step, the skew window."""

import base64

import pytest

from otpservice.totp.codes import (
    TotpConfig,
    code_at,
    is_base32_secret,
    matching_step,
    new_secret,
    provisioning_uri,
    step_at,
)

# RFC 6238 appendix B: the ASCII seeds, 8 digits, 30 s steps.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, {"sha1": "94287082", "sha256": "46119246", "sha512": "90693936"}),
    (1111111109, {"sha1": "07081804", "sha256": "68084774", "sha512": "25091201"}),
    (2000000000, {"sha1": "69279037", "sha256": "90698825", "sha512": "38618901"}),
]


@pytest.mark.parametrize(("at", "codes"), VECTORS)
@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_codes_are_rfc_6238s(at: int, codes: dict[str, str], algorithm: str) -> None:
    secret = base64.b32encode(SEEDS[algorithm]).decode()
    assert code_at(secret, TotpConfig(digits=8, algorithm=algorithm), at) == codes[algorithm]
    # Fewer digits are the same number's last ones (RFC 4226's modulo).
    assert code_at(secret, TotpConfig(digits=6, algorithm=algorithm), at) == codes[algorithm][-6:]
    assert code_at(secret, TotpConfig(digits=4, algorithm=algorithm), at) == codes[algorithm][-4:]


def test_a_code_belongs_to_its_step_and_skew_steps_either_side() -> None:
    secret, config = new_secret(), TotpConfig(skew=1)
    now = 1_800_000_015.0  # in the middle of a step
    step = step_at(now, 30)
    code = code_at(secret, config, now)
    assert matching_step(secret, config, code, now) == step
    assert matching_step(secret, config, code, now + 30) == step  # one step late: still inside the skew
    assert matching_step(secret, config, code, now - 30) == step  # the app runs one step ahead
    assert matching_step(secret, config, code, now + 60) is None  # two steps: outside
    assert matching_step(secret, TotpConfig(skew=0), code, now + 30) is None
    assert matching_step(secret, TotpConfig(skew=2), code, now + 60) == step
    assert matching_step(secret, config, "000000" if code != "000000" else "111111", now) is None


def test_the_step_boundary_is_the_period() -> None:
    config = TotpConfig(period=60, skew=0)
    secret = new_secret()
    start = 1_800_000_000.0 - 1_800_000_000.0 % 60
    assert code_at(secret, config, start) == code_at(secret, config, start + 59.9)
    assert matching_step(secret, config, code_at(secret, config, start), start + 60) is None


def test_the_uri_is_the_key_uri_format() -> None:
    uri = provisioning_uri("JBSWY3DPEHPK3PXP", TotpConfig(digits=8), label="alice@example.com", issuer="Acme Shop")
    assert uri.startswith("otpauth://totp/Acme%20Shop:alice%40example.com?secret=JBSWY3DPEHPK3PXP")
    assert "issuer=Acme%20Shop" in uri and "digits=8" in uri and "algorithm=SHA1" in uri


@pytest.mark.parametrize(
    "bad", [{"digits": 2}, {"digits": 9}, {"period": 10}, {"period": 61}, {"algorithm": "md5"}, {"skew": 3}]
)
def test_configs_outside_the_ranges_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TotpConfig(**bad)  # type: ignore[arg-type]


def test_only_decodable_base32_of_128_bits_or_more_is_a_secret() -> None:
    assert is_base32_secret(new_secret()) and is_base32_secret("A" * 26)
    assert not is_base32_secret("A" * 27)  # 27 Base32 characters are no whole number of bytes
    assert not is_base32_secret("A" * 25) and not is_base32_secret("a" * 32) and not is_base32_secret("1" * 32)
