"""The retry policy's numbers (SPEC section 16): 6 attempts, the first retry within 5 s, no
wait over 30 s, a lease of 2 x PROVIDER_TIMEOUT, ambiguous outcomes kept on their provider."""

from otpservice.delivery.policy import RetryPolicy
from otpservice.errors import ProviderAnswerLost, ProviderRateLimited, ProviderUnavailable

POLICY = RetryPolicy.for_timeout(["twilio", "vonage"], provider_timeout=10)


def test_the_waits_and_the_lease() -> None:
    assert POLICY.lease_seconds == 20 and POLICY.max_attempts == 6
    for _ in range(200):
        assert 0 < POLICY.backoff(1) <= 5
        assert all(0 < POLICY.backoff(attempts) <= 30 for attempts in range(1, 7))
    throttled = ProviderRateLimited(retry_after=3600)
    assert POLICY.after_failure(1, throttled, provider="twilio", refused_by=(), ambiguous_before=0).delay <= 30


def test_attempts_are_spent_at_six() -> None:
    down = ProviderUnavailable()
    assert POLICY.after_failure(5, down, provider="twilio", refused_by=(), ambiguous_before=0).retry
    assert not POLICY.after_failure(6, down, provider="twilio", refused_by=(), ambiguous_before=0).retry


def test_an_ambiguous_outcome_waits_the_lease_once_on_the_same_provider_and_a_second_ends_it() -> None:
    lost = ProviderAnswerLost()
    first = POLICY.after_failure(1, lost, provider="vonage", refused_by=(), ambiguous_before=0)
    assert (first.retry, first.delay, first.retry_provider) == (True, 20, "vonage")
    again = POLICY.after_failure(2, lost, provider="vonage", refused_by=(), ambiguous_before=1)
    assert (again.retry, again.ends) == (False, "ambiguous")  # sent at most once more, never again
    lease = POLICY.after_lease_expired(2, provider="vonage", ambiguous_before=1)
    assert (lease.retry, lease.ends) == (False, "ambiguous")
    refused = POLICY.after_failure(2, ProviderUnavailable(), provider="vonage", refused_by=(), ambiguous_before=1)
    assert refused.retry  # a re-send that certainly did not go: the normal policy again


def test_a_message_fails_only_when_every_provider_refused_it_for_good() -> None:
    down = ProviderUnavailable()
    assert POLICY.after_failure(1, down, provider="twilio", refused_by=("vonage",), ambiguous_before=0).retry
    assert POLICY.candidates(("vonage",), None) == ["twilio"]
    assert not POLICY.after_failure(
        1, down, provider="twilio", refused_by=("vonage", "twilio"), ambiguous_before=0
    ).retry


def test_with_the_queue_off_nothing_is_retried() -> None:
    off = RetryPolicy.for_timeout(["twilio"], provider_timeout=10, queue_enabled=False)
    assert not off.after_failure(1, ProviderUnavailable(), provider="twilio", refused_by=(), ambiguous_before=0).retry
    assert not off.after_lease_expired(1, provider="twilio", ambiguous_before=0).retry
