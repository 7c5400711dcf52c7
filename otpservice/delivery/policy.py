"""The one retry policy of the outbox: when a message is tried again, on which provider,
and when it fails for good. The inline send, the worker and lease expiry all ask it.

- 6 attempts in all; the first retry within 5 s, no wait over 30 s (full jitter).
- A message's lease is 2 x PROVIDER_TIMEOUT: a claim older than that belongs to a dead process.
- Within one attempt, a provider that certainly did not send (connection refused or never
  opened, an HTTP error answer) hands over at once to the next provider (the fallback).
- An outcome that may have sent (the request went out, no answer came back; a lease that
  expired mid-call) is `ambiguous`: never failed over at once; the message is sent once
  more, to the same provider, after a whole lease. A second ambiguous outcome ends it
  `ambiguous`: never sent again (a provider that takes messages but answers late must not
  get one message over and over).
- A provider that refused for good is not asked again for that message; the message fails
  only when every provider refused for good, or its attempts are spent.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass

from otpservice.core.statuses import AMBIGUOUS, FAILED
from otpservice.errors import ProviderError

MAX_ATTEMPTS = 6
FIRST_RETRY_SECONDS = 4.0
MAX_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Decision:
    retry: bool
    delay: float = 0.0
    retry_provider: str | None = None  # the next attempt goes only there (after an ambiguous outcome)
    ends: str = FAILED  # without a retry: the message's last state


@dataclass(frozen=True)
class RetryPolicy:
    providers: tuple[str, ...]
    lease_seconds: float
    queue_enabled: bool = True
    max_attempts: int = MAX_ATTEMPTS
    first_retry_seconds: float = FIRST_RETRY_SECONDS
    max_wait_seconds: float = MAX_WAIT_SECONDS

    @classmethod
    def for_timeout(
        cls, providers: Sequence[str], provider_timeout: float, *, queue_enabled: bool = True
    ) -> "RetryPolicy":
        return cls(tuple(providers), lease_seconds=2 * provider_timeout, queue_enabled=queue_enabled)

    def backoff(self, attempts: int) -> float:
        """Wait after the `attempts`-th failed attempt: full jitter under a doubling ceiling."""
        ceiling = min(self.max_wait_seconds, self.first_retry_seconds * 2 ** max(attempts - 1, 0))
        return random.uniform(ceiling / 2, ceiling)

    @staticmethod
    def hands_over_at_once(error: ProviderError) -> bool:
        """Within one attempt, may the next provider be asked after this error? Only when the
        message certainly did not go: asking another after a lost answer could send it twice."""
        return not error.may_have_sent

    def candidates(self, refused_by: Sequence[str], retry_provider: str | None) -> list[str]:
        """The providers one attempt may try, in order."""
        if retry_provider is not None:
            return [retry_provider]
        return [name for name in self.providers if name not in refused_by]

    def all_refused(self, refused_by: Sequence[str]) -> bool:
        return all(name in refused_by for name in self.providers)

    def after_failure(
        self, attempts: int, error: ProviderError, *, provider: str, refused_by: Sequence[str], ambiguous_before: int
    ) -> Decision:
        """What follows an attempt no provider accepted. `error`: the last provider's error,
        `provider`: the last one asked, `refused_by`: every provider that refused for good."""
        if error.may_have_sent and ambiguous_before > 0:
            return Decision(retry=False, ends=AMBIGUOUS)  # re-sent once already: never again
        if not self.queue_enabled or attempts >= self.max_attempts or self.all_refused(refused_by):
            return Decision(retry=False)
        if error.may_have_sent:
            return Decision(retry=True, delay=self.lease_seconds, retry_provider=provider)
        return Decision(
            retry=True, delay=min(self.max_wait_seconds, max(self.backoff(attempts), error.retry_after or 0))
        )

    def after_lease_expired(self, attempts: int, *, provider: str, ambiguous_before: int) -> Decision:
        """A claim whose process died mid-attempt: it may have sent. With the queue off it is
        never sent again; else it is retried on the same provider, as an ambiguous outcome."""
        if ambiguous_before > 0:
            return Decision(retry=False, ends=AMBIGUOUS)  # re-sent once already: never again
        if not self.queue_enabled or attempts >= self.max_attempts:
            return Decision(retry=False)
        return Decision(retry=True, delay=0.0, retry_provider=provider)  # its lease has run already
