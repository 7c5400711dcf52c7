"""The database taken away from a running service (SPEC 19, "Database down = 503, bounded"):
refused or hanging, every route that needs it answers 503 `database_unavailable` with
Retry-After within DB_TIMEOUT, nothing is sent, /-/ready names the database, and the service
recovers on its own. PostgreSQL through a TCP proxy that is stopped or frozen; SQLite through
a lock another process holds on its file."""

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from otpservice.db.migrate import upgrade_to_head
from tests.conftest import reset_postgres
from tests.process import serve
from tests.tcp_proxy import TcpProxy, tcp_proxy

DB_TIMEOUT = 1.0
# DB_TIMEOUT plus the service's own work: a request that waits out the outage takes far longer.
BOUND = DB_TIMEOUT + 2.5
NUMBERS = [f"+39333123{index:04d}" for index in range(40)]
TWILIO_USER = ("AC" + "0" * 32, "any")  # API_KEYS unset
TWILIO_START = {"To": "+393339999999", "Channel": "sms"}


def env_for(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DB_TIMEOUT": str(DB_TIMEOUT),
        "OTP_SECRET_KEY": "outage-test-key-0123456789abcdef0123",
        "SMS_DEFAULT_SENDER": "ACME",
        "CONSOLE_PROVIDER_ALLOWED": "true",
        "FRAUD_GUARD": "enforce",  # the breaker's own refusal must not hide the database's
    }


def outbox_size(http: httpx.Client) -> int:
    return len(http.get("/dev/outbox").json()["messages"])


def requests_while_down(http: httpx.Client, numbers: Iterator[str]) -> list[httpx.Response]:
    """Every kind of route that needs the database, several at once."""
    calls = [
        ("POST", "/verify/start", {"to": next(numbers)}),
        ("POST", "/verify/start", {"to": next(numbers)}),
        ("POST", "/verify/start", {"to": NUMBERS[0]}),  # the pending one: a re-send
        ("POST", "/verify/check", {"to": NUMBERS[0], "code": "000000"}),
        ("POST", "/send", {"receiver": next(numbers), "body": "hello"}),
        ("POST", "/send", {"receiver": next(numbers), "body": "hello"}),
        ("GET", "/messages/SM0123456789abcdef0123456789abcdef", None),
        ("GET", "/verify/VE0123456789abcdef0123456789abcdef", None),
    ]

    def call(item: tuple[str, str, dict[str, str] | None]) -> tuple[httpx.Response, float]:
        method, path, body = item
        began = time.monotonic()
        answer = http.request(method, path, json=body)
        return answer, time.monotonic() - began

    with ThreadPoolExecutor(len(calls)) as pool:
        results = list(pool.map(call, calls))
    for answer, took in results:
        assert took < BOUND, f"{answer.request.url.path} took {took:.1f} s"
    return [answer for answer, _ in results]


def assert_unavailable(answers: list[httpx.Response]) -> None:
    for answer in answers:
        body = answer.json()
        assert (answer.status_code, body["code"]) == (503, "database_unavailable"), answer.text
        assert int(answer.headers["Retry-After"]) >= 1


def assert_ready_names_the_database(http: httpx.Client) -> None:
    began = time.monotonic()
    ready = http.get("/-/ready")
    assert time.monotonic() - began < BOUND
    assert ready.status_code == 503 and "DATABASE_URL" in ready.json()["message"], ready.text


def wait_for_recovery(http: httpx.Client, number: str) -> None:
    deadline = time.monotonic() + 10
    while (answer := http.post("/verify/start", json={"to": number})).status_code == 503:
        assert time.monotonic() < deadline, f"no recovery within 10 s: {answer.text}"
        time.sleep(0.2)
    assert answer.status_code == 201, answer.text
    assert http.get("/-/ready").status_code == 200


@pytest.fixture
def proxied_postgres(postgres_database: str) -> Iterator[tuple[str, TcpProxy]]:
    asyncio.run(reset_postgres(postgres_database))
    upgrade_to_head(postgres_database)
    parts = urlsplit(postgres_database)
    with tcp_proxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{proxy.port}"
        proxied = urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))
        yield proxied, proxy


@pytest.mark.postgres
@pytest.mark.parametrize("outage", ["refused", "hanging"])
def test_postgres_down_is_a_bounded_503_and_recovers(
    proxied_postgres: tuple[str, TcpProxy], outage: str, tmp_path: Path
) -> None:
    url, proxy = proxied_postgres
    numbers = iter(NUMBERS[1:])
    with serve(env_for(url), tmp_path / "serve.log") as (base_url, _):
        http = httpx.Client(base_url=base_url, timeout=30)
        assert http.post("/verify/start", json={"to": NUMBERS[0]}).status_code == 201
        assert http.get("/-/ready").status_code == 200
        service = http.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=TWILIO_USER).json()["sid"]
        sent = outbox_size(http)

        proxy.refuse() if outage == "refused" else proxy.freeze()
        assert_unavailable(requests_while_down(http, numbers))
        assert_unavailable(requests_while_down(http, numbers))  # and again: nothing piles up
        twilio = http.post(f"/v2/Services/{service}/Verifications", data=TWILIO_START, auth=TWILIO_USER)
        assert (twilio.status_code, twilio.json()["status"]) == (503, 503), twilio.text  # in Twilio's words
        assert int(twilio.headers["Retry-After"]) >= 1
        assert_ready_names_the_database(http)
        assert outbox_size(http) == sent  # nothing sent while the database was away

        proxy.forward()
        wait_for_recovery(http, next(numbers))
        send = http.post("/send", json={"receiver": next(numbers), "body": "hello"})
        assert send.status_code in (200, 202), send.text


def test_sqlite_locked_is_a_bounded_503_and_recovers(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock: writes wait at most DB_TIMEOUT."""
    url = f"sqlite+aiosqlite:///{tmp_path}/otp.db"
    numbers = iter(NUMBERS[1:])
    with serve(env_for(url), tmp_path / "serve.log") as (base_url, _):
        http = httpx.Client(base_url=base_url, timeout=30)
        assert http.post("/verify/start", json={"to": NUMBERS[0]}).status_code == 201
        sent = outbox_size(http)
        holder = sqlite3.connect(tmp_path / "otp.db", isolation_level=None, timeout=10)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            began = time.monotonic()
            starts = [http.post("/verify/start", json={"to": next(numbers)}) for _ in range(3)]
            assert time.monotonic() - began < 3 * BOUND
            assert_unavailable(starts)
            assert outbox_size(http) == sent
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        wait_for_recovery(http, next(numbers))
