"""What every fake provider shares: a real HTTP server on 127.0.0.1, a request log, a script.

A fake runs uvicorn in a thread of its own, so that it serves sync and async tests
alike (and the benchmark) whatever event loop they run on. The test thread scripts it
and reads its log through the methods below, which take a lock.
"""

import asyncio
import base64
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

DEFAULT_BALANCE = "10.00"
DEFAULT_SENDER = "+15005550006"


@dataclass(frozen=True)
class Recorded:
    """One request the fake received. `kind` is "send", "balance" or "other"."""

    kind: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]


@dataclass(frozen=True)
class Reply:
    """A scripted answer: JSON when `json` is given, else `text` as text/plain."""

    status: int
    json: Any = None
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    echo: str | None = None  # a form field whose value replaces "{echo}" in the answer (a provider quoting us)

    def echoed(self, form: dict[str, str]) -> "Reply":
        if self.echo is None:
            return self
        value = form.get(self.echo, "")
        as_json = {k: v.replace("{echo}", value) if isinstance(v, str) else v for k, v in (self.json or {}).items()}
        return replace(self, json=as_json if self.json is not None else None, text=self.text.replace("{echo}", value))

    def response(self) -> Response:
        if self.json is not None:
            return JSONResponse(self.json, status_code=self.status, headers=self.headers)
        return PlainTextResponse(self.text, status_code=self.status, headers=self.headers)


class FakeProvider:
    """One fake provider: its routes, state, script and server. Subclasses give the wire format."""

    name: ClassVar[str]

    def __init__(self, *, record: bool = True) -> None:
        self._lock = threading.Lock()
        self._record = record
        self._requests: list[Recorded] = []
        self._script: dict[str, deque[Reply]] = {"send": deque(), "balance": deque()}
        # Replies for the requests whose form has a given field value: {(field, value): replies}.
        self._keyed: dict[tuple[str, str], deque[Reply]] = {}
        self.delay = 0.0
        self.balance: str | None = DEFAULT_BALANCE
        self._server: _ServerThread | None = None
        self._stopping = False

    # --- to be given by each provider ---------------------------------------------
    def routes(self) -> list[Route]:
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """Settings overrides (make_settings/Settings keywords) pointing the service here."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The same as environment variables of an `otpservice serve` process, with the default
        sender that `serve` requires of a provider that needs one."""
        env = {name.upper(): str(value) for name, value in self.settings().items()}
        return {"SMS_DEFAULT_SENDER": DEFAULT_SENDER, **env}

    # --- scripting ------------------------------------------------------------------
    def push(self, reply: Reply, kind: str = "send") -> None:
        """Answer the next `kind` request with `reply` (replies queue up, first in first out)."""
        with self._lock:
            self._script[kind].append(reply)

    def push_when(self, field: str, value: str, reply: Reply) -> None:
        """Answer the next request whose form field `field` is `value` with `reply`, whatever
        else comes first (e.g. the first call for one message body, not the next call at all)."""
        with self._lock:
            self._keyed.setdefault((field, value), deque()).append(reply)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._keyed.clear()
            for queue in self._script.values():
                queue.clear()
        self.delay, self.balance = 0.0, DEFAULT_BALANCE

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def sends(self) -> list[Recorded]:
        return [request for request in self.requests if request.kind == "send"]

    @property
    def balance_reads(self) -> list[Recorded]:
        return [request for request in self.requests if request.kind == "balance"]

    # --- serving --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "the fake is not running"
        return f"http://127.0.0.1:{self._server.port}"

    def start(self, port: int = 0) -> str:
        self._stopping = False
        self._server = _ServerThread(Starlette(routes=self.routes()), port)
        self._server.start()
        return self.base_url

    def stop(self, wait: bool = True) -> None:
        """Stop listening: once it returns, connections to base_url are refused.
        `wait=False` only asks the server to stop (a teardown need not wait ~0.1 s)."""
        self._stopping = True
        if self._server is not None:
            self._server.stop(wait)

    async def serve(self, request: Request, kind: str, default: Callable[[Recorded], Response]) -> Response:
        """Record the request, then answer with the script's next reply or `default`."""
        form = dict(await request.form()) if request.method == "POST" else {}
        recorded = Recorded(
            kind=kind,
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=dict(request.headers),
            form={key: str(value) for key, value in form.items()},
        )
        with self._lock:
            if self._record:
                self._requests.append(recorded)
            keyed = next(
                (
                    replies
                    for (name, value), replies in self._keyed.items()
                    if replies and recorded.form.get(name) == value
                ),
                None,
            )
            queue = keyed if keyed is not None else self._script.get(kind)
            reply = queue.popleft() if queue else None
        delay = reply.delay if reply is not None and reply.delay else self.delay
        await self._pause(delay)
        return reply.echoed(recorded.form).response() if reply is not None else default(recorded)

    async def _pause(self, seconds: float) -> None:
        # In slices, so that stop() does not wait for a slow answer nobody awaits any more.
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self._stopping:
            await asyncio.sleep(min(left, 0.02))


def basic_login(header: str) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic ...` header, else None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:
        return None
    return user, password


class _ServerThread:
    def __init__(self, app: Starlette, port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"fake-provider-{self.port}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake provider server did not start")
            time.sleep(0.005)

    def stop(self, wait: bool = True) -> None:
        self._server.should_exit = True
        if wait:
            self._thread.join(timeout=10)
