"""examples/login_flow.py, docs/api.md's login example, against a running otpservice: a login,
then a number locked after max_attempts_reached and told when to come back."""

import importlib.util
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.ops.test_cli import SECRETS
from tests.process import serve

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "example-key-0123456789"
NUMBER = "+393331234567"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": SECRETS["OTP_SECRET_KEY"],
        "API_KEYS": API_KEY,
        "OTP_MAX_CHECK_ATTEMPTS": "3",
    }
    with serve(env, tmp_path / "service.log") as (base_url, _):
        yield base_url


@pytest.fixture
async def login(service: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    spec = importlib.util.spec_from_file_location("login_flow", ROOT / "examples" / "login_flow.py")
    assert spec and spec.loader
    example: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    monkeypatch.setattr(example, "OTPSERVICE_URL", service)
    monkeypatch.setattr(example, "OTPSERVICE_API_KEY", API_KEY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=example.app), base_url="http://app") as client:
        yield client


def sent_code(service: str) -> str:
    outbox = httpx.get(service + "/dev/outbox", headers={"Authorization": f"Bearer {API_KEY}"}).json()
    return re.search(r"\b(\d{6})\b", outbox["messages"][0]["body"]).group(1)  # type: ignore[union-attr]


async def test_a_user_logs_in_with_the_code(service: str, login: httpx.AsyncClient) -> None:
    sent = await login.post("/login/phone", json={"phone": NUMBER}, headers={"Accept-Language": "de-DE"})
    assert sent.status_code == 200 and sent.json()["sent"] is True
    assert (
        "lautet"
        in httpx.get(service + "/dev/outbox", headers={"Authorization": f"Bearer {API_KEY}"}).json()["messages"][0][
            "body"
        ]
    )
    code = sent_code(service)
    logged = await login.post("/login/code", json={"phone": NUMBER, "code": code})
    assert logged.status_code == 200 and logged.json()["loggedIn"] is True and logged.json()["session"]
    replay = await login.post("/login/code", json={"phone": NUMBER, "code": code})
    assert replay.status_code == 401 and replay.json()["reason"] == "verification_not_found"


async def test_wrong_codes_lock_the_number_until_its_verification_expires(
    service: str, login: httpx.AsyncClient
) -> None:
    assert (await login.post("/login/phone", json={"phone": NUMBER})).status_code == 200
    right = sent_code(service)
    wrong = "000000" if right != "000000" else "111111"
    left = [
        (await login.post("/login/code", json={"phone": NUMBER, "code": wrong})).json()["attemptsLeft"]
        for _ in range(3)
    ]
    assert left == [2, 1, 0]
    locked = await login.post("/login/code", json={"phone": NUMBER, "code": right})  # even the right code
    assert locked.status_code == 429 and locked.json()["reason"] == "max_attempts_reached"
    assert 500 < locked.json()["retryAfter"] <= 600  # OTP_TTL: the verification's expiresAt
    again = await login.post("/login/phone", json={"phone": NUMBER})  # no new code before then either
    assert again.status_code == 429 and again.json()["reason"] == "max_attempts_reached"
