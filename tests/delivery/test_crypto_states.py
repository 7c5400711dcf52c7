from otpservice.delivery.crypto import BodyCipher
from otpservice.delivery.states import DELIVERED, FAILED, SENT, UNDELIVERED, from_provider, states_before


def test_body_round_trip_and_no_plaintext() -> None:
    cipher = BodyCipher(["key-one"])
    blob = cipher.encrypt("Your code is 123456", "MS1")
    assert b"123456" not in blob
    assert cipher.decrypt(blob, "MS1") == "Your code is 123456"


def test_body_bound_to_its_message_and_key() -> None:
    blob = BodyCipher(["key-one"]).encrypt("secret", "MS1")
    assert BodyCipher(["key-one"]).decrypt(blob, "MS2") is None
    assert BodyCipher(["key-two"]).decrypt(blob, "MS1") is None
    assert BodyCipher(["key-two", "key-one"]).decrypt(blob, "MS1") == "secret"


def test_states_never_move_backwards() -> None:
    assert "delivered" not in states_before(SENT)
    assert SENT in states_before(DELIVERED)
    assert DELIVERED not in states_before(FAILED)


def test_provider_words() -> None:
    assert from_provider("twilio", "delivered") == DELIVERED
    assert from_provider("twilio", "queued") == SENT
    assert from_provider("vonage", "expired") == UNDELIVERED
    assert from_provider("vonage", "unknown") is None
    assert from_provider("kaleyra", "DELIVRD") == DELIVERED
    assert from_provider("kaleyra", "UNDELIV") == UNDELIVERED
    assert from_provider("kaleyra", "FAILED") == FAILED
