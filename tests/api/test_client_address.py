"""Whose X-Forwarded-For counts (TRUSTED_PROXIES), and IPv6 clients per /64."""

import ipaddress
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from otpservice.api.client_address import client_address
from tests.process import serve

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


def request_from(peer: str, forwarded: list[str] | None = None) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded or []]
    return Request({"type": "http", "client": (peer, 5000), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.7", ["198.51.100.1"], PROXIES, "203.0.113.7"),  # untrusted peer: its header is ignored
        ("203.0.113.7", ["198.51.100.1"], [], "203.0.113.7"),
        ("10.1.2.3", ["198.51.100.1"], PROXIES, "198.51.100.1"),
        ("10.1.2.3", ["198.51.100.9, 198.51.100.1, 10.0.0.5"], PROXIES, "198.51.100.1"),  # right-most untrusted
        ("10.1.2.3", ["198.51.100.9", "198.51.100.1"], PROXIES, "198.51.100.1"),  # repeated headers join
        ("10.1.2.3", [], PROXIES, "10.1.2.3"),
        ("10.1.2.3", ["not-an-ip"], PROXIES, "10.1.2.3"),
        ("10.1.2.3", ["198.51.100.1, garbage"], PROXIES, "10.1.2.3"),
        ("2001:db8:1:2:aaaa::1", [], [], "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", [], [], "2001:db8:1:2::/64"),  # same /64: same client
        ("::ffff:203.0.113.7", [], [], "203.0.113.7"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], trusted: list[ipaddress.IPv4Network], expected: str) -> None:
    assert client_address(request_from(peer, forwarded), trusted) == expected


def test_forwarded_headers_from_localhost_do_not_pick_the_bucket(tmp_path: Path) -> None:
    """A real `otpservice serve`: uvicorn's own X-Forwarded-For trust is off, so a caller on
    127.0.0.1 cannot choose its per-client bucket with the header."""
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": "k" * 32,
        "OTP_MAX_REQUESTS_PER_IP_MINUTE": "2",
    }
    with serve(env, tmp_path / "serve.log") as (base_url, _):
        codes = []
        for hop in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            answer = httpx.post(
                base_url + "/verify/check",
                json={"to": "+393331234567", "code": "123456"},
                headers={"X-Forwarded-For": hop},
                timeout=10,
            )
            codes.append(answer.json()["code"])
    assert codes == ["verification_not_found", "verification_not_found", "ip_rate_limited"]


def test_a_trusted_proxy_passes_the_client_on(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": "k" * 32,
        "OTP_MAX_REQUESTS_PER_IP_MINUTE": "1",
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    with serve(env, tmp_path / "serve.log") as (base_url, _):
        codes = [
            httpx.post(
                base_url + "/verify/check",
                json={"to": "+393331234567", "code": "123456"},
                headers={"X-Forwarded-For": hop},
                timeout=10,
            ).json()["code"]
            for hop in ("198.51.100.1", "198.51.100.2", "198.51.100.1")
        ]
    assert codes == ["verification_not_found", "verification_not_found", "ip_rate_limited"]
