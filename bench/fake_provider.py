"""A minimal, fast fake Twilio for the benchmark (one process, 127.0.0.1 only).

Speaks Twilio's send format:
    POST /2010-04-01/Accounts/{sid}/Messages.json  (form: To, From | MessagingServiceSid, Body)
    -> 201 {"sid": "SM<32 hex>", "status": "queued", "num_segments": "1", ...}
    GET  /2010-04-01/Accounts/{sid}/Balance.json   -> {"balance": "100.00", ...}

and lets the benchmark read what it received (so /verify/check is driven with right codes):
    GET  /_received?to=+39...   -> {"to", "body", "count"} for that number (404 when none)
    GET  /_received?prefix=+39  -> {"messages": {to: last body, ...}} (numbers starting so; all
                                   numbers without `prefix`)
    GET  /_stats                -> {"received": <messages accepted since start>}

Written on httptools + uvloop (both come with uvicorn[standard]) rather than a framework,
so that the provider costs as little CPU as possible on a 2-core box: it must not be what
the benchmark measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import uuid
from email.utils import formatdate
from typing import cast
from urllib.parse import parse_qs, urlsplit

import httptools

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
BALANCE_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Balance\.json$")
MAX_REMEMBERED = 2_000_000  # numbers whose last body is kept (bounded memory)

REASONS = {200: "OK", 201: "Created", 404: "Not Found", 405: "Method Not Allowed"}


class Inbox:
    """The last body received per number, and a total count."""

    def __init__(self) -> None:
        self.last_body: dict[str, str] = {}
        self.count_by_number: dict[str, int] = {}
        self.received = 0

    def record(self, to: str, body: str) -> None:
        self.received += 1
        if to not in self.last_body and len(self.last_body) >= MAX_REMEMBERED:
            return
        self.last_body[to] = body
        self.count_by_number[to] = self.count_by_number.get(to, 0) + 1


def twilio_message(sid: str, fields: dict[str, list[str]]) -> dict[str, object]:
    def first(name: str) -> str | None:
        values = fields.get(name)
        return values[0] if values else None

    messaging_service = first("MessagingServiceSid")
    return {
        "account_sid": sid,
        "api_version": "2010-04-01",
        "body": first("Body") or "",
        "date_created": formatdate(usegmt=False),
        "date_sent": None,
        "date_updated": formatdate(usegmt=False),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": first("From"),
        "messaging_service_sid": messaging_service,
        "num_media": "0",
        "num_segments": "0" if messaging_service else "1",
        "price": None,
        "price_unit": "USD",
        "sid": "SM" + uuid.uuid4().hex,
        "status": "accepted" if messaging_service else "queued",
        "to": first("To"),
        "uri": f"/2010-04-01/Accounts/{sid}/Messages.json",
    }


def not_found(path: str) -> tuple[int, dict[str, object]]:
    return 404, {
        "code": 20404,
        "message": f"The requested resource {path} was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }


def route(inbox: Inbox, method: str, raw_url: str, body: bytes) -> tuple[int, dict[str, object]]:
    url = urlsplit(raw_url)
    path = url.path
    match = MESSAGES_PATH.match(path)
    if match:
        if method != "POST":
            return 405, {"code": 20004, "message": "Method not allowed", "status": 405}
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        message = twilio_message(match.group("sid"), fields)
        inbox.record(str(message["to"] or ""), str(message["body"]))
        return 201, message
    match = BALANCE_PATH.match(path)
    if match and method == "GET":
        return 200, {"account_sid": match.group("sid"), "balance": "100.00", "currency": "USD"}
    if path == "/_received" and method == "GET":
        query = parse_qs(url.query)
        if "to" in query:
            to = query["to"][0]
            if to not in inbox.last_body:
                return not_found(path)
            return 200, {"to": to, "body": inbox.last_body[to], "count": inbox.count_by_number[to]}
        prefix = query.get("prefix", [""])[0]
        return 200, {"messages": {to: body for to, body in inbox.last_body.items() if to.startswith(prefix)}}
    if path == "/_stats" and method == "GET":
        return 200, {"received": inbox.received, "numbers": len(inbox.last_body)}
    return not_found(path)


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; one request at a time per connection (no pipelining needed)."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._respond(400, {"message": "bad request"}, keep_alive=False)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self._parser.get_method().decode("ascii")
        status, payload = route(self._inbox, method, self._url.decode("latin-1"), b"".join(self._body))
        self._respond(status, payload, keep_alive=self._parser.should_keep_alive())

    def _respond(self, status: int, payload: dict[str, object], *, keep_alive: bool) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        body = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        ).encode("latin-1")
        self._transport.write(head + body)
        if not keep_alive:
            self._transport.close()


async def serve(host: str, port: int) -> None:
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("fake_provider: refusing to listen anywhere but the loopback")
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(inbox), host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"fake_provider listening on http://{host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fake Twilio for the benchmark")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.run(serve(args.host, args.port))
    except ImportError:
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
