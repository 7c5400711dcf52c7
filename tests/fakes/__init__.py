"""Fake Twilio, Kaleyra and Vonage servers on 127.0.0.1, for tests and the benchmark.

    with start_fake("twilio") as (base_url, fake):
        settings = make_settings(url, **fake.settings())   # credentials and base URL
        fake.fail_next(21211)                              # script the next send
        ...
        assert fake.sends[0].form["To"] == "+15005550006"  # what the fake received

Left alone, a fake accepts every well-formed, well-authenticated request at once.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from tests.fakes.base import FakeProvider, Recorded, Reply
from tests.fakes.kaleyra import KaleyraFake
from tests.fakes.twilio import TwilioFake
from tests.fakes.vonage import VonageFake

FAKES: dict[str, type[FakeProvider]] = {"twilio": TwilioFake, "kaleyra": KaleyraFake, "vonage": VonageFake}

__all__ = ["FAKES", "FakeProvider", "KaleyraFake", "Recorded", "Reply", "TwilioFake", "VonageFake", "start_fake"]


@contextmanager
def start_fake(provider: str, *, record: bool = True) -> Iterator[tuple[str, FakeProvider]]:
    """Run the fake `provider` on a free port; `record=False` keeps no request log (benchmark)."""
    fake = FAKES[provider](record=record)
    base_url = fake.start()
    try:
        yield base_url, fake
    finally:
        fake.stop(wait=False)
