"""The app served by uvicorn on a real socket (a free port) in a background thread, with a
clock the test can move; and the official twilio SDK pointed at it."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import uvicorn
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from otpservice.app import create_app
from otpservice.clock import Clock
from otpservice.settings import Settings

ACCOUNT_SID = "AC" + "1" * 32


@contextmanager
def live_app(settings: Settings, clock: Clock | None = None) -> Iterator[str]:
    """Serve create_app(settings) on 127.0.0.1:<free port>; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, clock=clock), log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the app did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


class LocalHttpClient(TwilioHttpClient):
    """Keeps Twilio's path and query, replaces scheme and host (TWILIO-VERIFY.md section 6)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


def twilio_client(base_url: str, password: str = "any-key", username: str = ACCOUNT_SID) -> Client:
    return Client(username, password, http_client=LocalHttpClient(base_url))
