"""A local HTTP server that takes alert webhooks, for the budget and breaker tests."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from otpservice.observability.alerts import SIGNATURE_HEADER, sign


@dataclass
class Receiver:
    url: str
    secret: str
    alerts: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    release: threading.Event = field(default_factory=threading.Event)  # set: answer at once

    def events(self) -> list[tuple[str, str, str]]:
        return [(alert["event"], alert["scope"], alert["key"]) for alert in self.alerts]


@contextmanager
def alert_receiver(secret: str = "alert-secret", port: int = 0, hold: bool = False) -> Iterator[Receiver]:
    """`hold=True`: every request waits until `receiver.release` is set (a receiver that hangs)."""
    receiver = Receiver(url="", secret=secret)
    if not hold:
        receiver.release.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.release.wait(30)
            if self.headers.get(SIGNATURE_HEADER) == sign(body, receiver.secret):
                receiver.alerts.append(json.loads(body))
            else:
                receiver.bad_signatures += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
