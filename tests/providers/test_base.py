"""The helpers every provider shares: transport failures, masking, numbers."""

import asyncio
import time
from decimal import Decimal

import aiohttp
import httpx
import pytest

from otpservice.errors import ProviderAnswerLost, ProviderError, ProviderTimeout, ProviderUnavailable
from otpservice.providers.base import call_provider, scrub, to_decimal
from tests.providers.helpers import Script


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        # No connection was made: certainly not sent.
        (httpx.ConnectError("refused"), ProviderUnavailable),
        (httpx.ConnectTimeout("slow"), ProviderTimeout),
        (httpx.PoolTimeout("busy"), ProviderTimeout),
        # The request went out, no answer came back: it may have been sent.
        (httpx.RemoteProtocolError("server disconnected"), ProviderAnswerLost),
        (httpx.ReadTimeout("slow"), ProviderAnswerLost),
        (aiohttp.ClientPayloadError("truncated"), ProviderAnswerLost),
    ],
)
async def test_transport_failures_become_provider_errors(failure: Exception, error: type[ProviderError]) -> None:
    script = Script()
    script.fail(failure)
    with pytest.raises(error) as raised:
        await call_provider(script.client(), "acme", "GET", "https://acme.test/")
    assert type(raised.value) is error
    assert raised.value.may_have_sent is (error is ProviderAnswerLost)


async def test_aiohttp_errors_wrapped_as_connect_timeout_are_judged_by_their_cause() -> None:
    """httpx-aiohttp turns every aiohttp connection error into httpx.ConnectTimeout: a refused
    connection is no timeout, and a server that hung up mid-answer may have taken the request."""
    refused = httpx.ConnectTimeout("no connection")
    refused.__cause__ = aiohttp.ConnectionTimeoutError()
    dropped = httpx.ConnectTimeout("disconnected")
    dropped.__cause__ = aiohttp.ServerDisconnectedError()
    slow = httpx.ReadTimeout("slow")
    slow.__cause__ = aiohttp.SocketTimeoutError()
    script = Script()
    for failure in (refused, dropped, slow):
        script.fail(failure)
    with pytest.raises(ProviderTimeout) as first:
        await call_provider(script.client(), "acme", "GET", "https://acme.test/")
    assert not first.value.may_have_sent
    with pytest.raises(ProviderAnswerLost):
        await call_provider(script.client(), "acme", "GET", "https://acme.test/")
    with pytest.raises(ProviderAnswerLost):
        await call_provider(script.client(), "acme", "GET", "https://acme.test/")


async def test_the_whole_call_is_bounded_by_the_timeout() -> None:
    """A provider that keeps the call alive past PROVIDER_TIMEOUT (e.g. trickling bytes,
    which resets each per-read timeout) still gets a timeout."""

    async def endless(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(endless), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        await call_provider(client, "acme", "GET", "https://acme.test/")
    assert time.monotonic() - started < 1


def test_scrub_masks_numbers_and_bounds_length() -> None:
    text = scrub("The 'To' number +14155552671 (or 447911123456) is invalid " + "x" * 300)
    assert "+14155552671" not in text and "447911123456" not in text
    assert "2671" in text and "3456" in text
    assert len(text) <= 160


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.05", Decimal("0.05")),
        (10.17, Decimal("10.17")),
        (0, Decimal(0)),
        ("-1", Decimal(-1)),
        (None, None),
        (True, None),
        ("abc", None),
        ("NaN", None),
        ("Infinity", None),
    ],
)
def test_to_decimal(value: object, expected: Decimal | None) -> None:
    assert to_decimal(value) == expected
