"""A scripted httpx.MockTransport for provider unit tests, and numbers that phonenumbers accepts."""

from collections import deque
from typing import Any
from urllib.parse import parse_qsl

import httpx

NUMBERS = [
    "+393331234567",
    "+14155552671",
    "+447911123456",
    "+919812345678",
    "+33612345678",
    "+4915123456789",
    "+34612345678",
    "+61412345678",
]


class Script:
    """Answers requests with the queued responses (or `default`) and keeps what it saw."""

    def __init__(self, default: httpx.Response | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._replies: deque[httpx.Response | Exception] = deque()
        self._default = default or httpx.Response(500)

    def reply(
        self, status: int, json: Any = None, text: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        if json is not None:
            self._replies.append(httpx.Response(status, json=json, headers=headers))
        else:
            self._replies.append(httpx.Response(status, text=text or "", headers=headers))

    def fail(self, error: Exception) -> None:
        self._replies.append(error)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self._replies.popleft() if self._replies else self._default
        if isinstance(reply, Exception):
            raise reply
        return reply

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self), timeout=5)

    def form(self, index: int = -1) -> dict[str, str]:
        return dict(parse_qsl(self.requests[index].content.decode(), keep_blank_values=True))


def assert_error(response: httpx.Response, status: int, code: str, *secrets: str) -> dict[str, Any]:
    """The service's error body, with none of `secrets` anywhere in the response."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"statusCode", "error", "message", "code"}
    assert (body["statusCode"], body["code"]) == (status, code)
    assert body["error"] == httpx.codes.get_reason_phrase(status)
    for secret in secrets:
        assert secret not in response.text
    return body
