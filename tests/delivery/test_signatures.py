from otpservice.delivery.signatures import token_valid, twilio_signature, twilio_signature_valid

VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def test_twilio_documented_vector() -> None:
    assert twilio_signature("12345", VECTOR_URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilio_signature_rejects_tampering() -> None:
    good = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio_signature_valid("12345", VECTOR_URL, VECTOR_PARAMS, good)
    assert not twilio_signature_valid("12346", VECTOR_URL, VECTOR_PARAMS, good)
    assert not twilio_signature_valid("12345", VECTOR_URL, {**VECTOR_PARAMS, "Digits": "1235"}, good)
    assert not twilio_signature_valid("12345", VECTOR_URL + "&x=1", VECTOR_PARAMS, good)


def test_token() -> None:
    assert token_valid("s3cret", "s3cret")
    assert not token_valid("s3cret", "s3cre")
    assert not token_valid("s3cret", None)
