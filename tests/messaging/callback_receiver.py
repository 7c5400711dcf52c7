"""An app's status-callback endpoint on 127.0.0.1, validating each request the way Twilio's
own guides do: `RequestValidator(auth_token).validate(url, params, X-Twilio-Signature)`."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator


@dataclass
class CallbackReceiver:
    url: str
    auth_token: str
    valid: list[dict[str, str]] = field(default_factory=list)
    invalid: int = 0
    refuse: int = 0  # answer 500 to this many valid requests first

    def wait_for(self, count: int, seconds: float = 10) -> list[dict[str, str]]:
        deadline = time.monotonic() + seconds
        while len(self.valid) < count:
            assert time.monotonic() < deadline, f"callbacks received: {self.valid}"
            time.sleep(0.05)
        return self.valid


@contextmanager
def callback_receiver(auth_token: str) -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver(url="", auth_token=auth_token)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            params = dict(parse_qsl(body, keep_blank_values=True))
            validator = RequestValidator(receiver.auth_token)
            status = 204
            with lock:
                if not validator.validate(receiver.url, params, self.headers.get("X-Twilio-Signature", "")):
                    receiver.invalid += 1
                    status = 403
                elif receiver.refuse > 0:
                    receiver.refuse -= 1
                    status = 500
                else:
                    receiver.valid.append(params)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/sms/status?app=acme"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
