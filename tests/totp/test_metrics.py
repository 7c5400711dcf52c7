"""Enrolments and checks are counted in /metrics."""

import re

import pyotp

from otpservice.clock import FakeClock
from tests.conftest import AppFactory


def value(text: str, name: str, label: str) -> float:
    found = re.search(rf"^{name}\{{{label}\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_enrolments_and_checks_are_counted(app_client: AppFactory, clock: FakeClock) -> None:
    async with app_client() as client:
        before = (await client.get("/metrics")).text
        created = (await client.post("/totp/factors", json={"identity": "user-9"})).json()
        code = pyotp.TOTP(created["secret"]).at(clock.now())
        await client.post(f"/totp/factors/{created['id']}/verify", json={"code": code})
        await client.post("/totp/check", json={"identity": "user-9", "code": code})  # a replay
        await client.post(
            "/totp/check", json={"identity": "user-9", "code": "".join(str((int(d) + 1) % 10) for d in code)}
        )
        after = (await client.get("/metrics")).text
    enrolments, checks = "otpservice_totp_enrolments_total", "otpservice_totp_checks_total"
    for name, label, grew in (
        (enrolments, 'event="created"', 1),
        (enrolments, 'event="verified"', 1),
        (checks, 'result="approved"', 1),
        (checks, 'result="replayed"', 1),
        (checks, 'result="wrong_code"', 1),
    ):
        assert value(after, name, label) - value(before, name, label) == grew, (name, label)
