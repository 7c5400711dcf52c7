"""Black box: two `otpservice serve` replicas on PostgreSQL + Redis, FRAUD_GUARD=enforce.

An attack replayed (many starts to one range, none approved) while healthy traffic elsewhere is
approved: after the sample the range is refused by both replicas; the healthy traffic never is.
"""

import re
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.fraud.helpers import in_range
from tests.process import serve
from tests.test_replicas import replica_env  # noqa: F401  (fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

RANGE = "+39333123"
HEALTHY = ["+491701234{:03d}", "+33612345{:03d}", "+34612345{:03d}", "+14155552{:03d}"]
SETTINGS = {
    "FRAUD_GUARD": "enforce",
    "FRAUD_WINDOW": "60",
    "FRAUD_MIN_SETTLED": "10",
    "OTP_TTL": "5",
    "RATE_LIMIT_MAX_REQUESTS": "100000",
    "OTP_MAX_REQUESTS_PER_IP_MINUTE": "100000",
    "SMS_QUEUE_ENABLED": "false",
    "ADMIN_API_KEYS": "admin-key-0123456789",
}


def code_for(base_url: str, to: str) -> str:
    messages = httpx.get(base_url + "/dev/outbox").json()["messages"]
    body = next(message["body"] for message in messages if message["to"] == to)
    return re.search(r"\b(\d{6})\b", body).group(1)  # type: ignore[union-attr]


def test_an_attack_is_refused_by_both_replicas_after_the_sample_and_healthy_traffic_never(
    replica_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**replica_env, **SETTINGS}
    with serve(env, tmp_path / "a.log") as (first, _), serve(env, tmp_path / "b.log") as (second, _):
        replicas = [first, second]
        attack: list[tuple[float, str, int, str | None]] = []
        healthy = Counter()
        started = time.monotonic()
        index = 0
        first_refusal: float | None = None
        # Until 7 s after the first refusal (at most 60 s): long enough to see both replicas refuse.
        while time.monotonic() - started < 60 and (
            first_refusal is None or time.monotonic() - started < first_refusal + 7
        ):
            for _ in range(3):
                replica = replicas[index % 2]
                response = httpx.post(replica + "/verify/start", json={"to": in_range(index)})
                attack.append((time.monotonic() - started, replica, response.status_code, response.json().get("code")))
                if response.status_code != 201 and first_refusal is None:
                    first_refusal = attack[-1][0]
                index += 1
            number = HEALTHY[index % 4].format(index % 1000)
            home, other = replicas[index % 2], replicas[(index + 1) % 2]
            begun = httpx.post(home + "/verify/start", json={"to": number})
            healthy[begun.status_code] += 1
            if begun.status_code == 201:
                checked = httpx.post(
                    other + "/verify/check", json={"id": begun.json()["id"], "code": code_for(home, number)}
                )
                healthy[checked.json().get("status")] += 1
            time.sleep(0.25)
        assert set(healthy) == {201, "approved"} and healthy[201] == healthy["approved"], healthy
        sent = [entry for entry in attack if entry[2] == 201]
        assert len(sent) >= 10  # the sample went out before anything was refused
        refusals = [entry for entry in attack if entry[2] != 201]
        assert {entry[3] for entry in refusals} == {"destination_suspended"}
        # Once refused anywhere, every start to the range is refused by both replicas within 2 s.
        assert first_refusal == refusals[0][0]
        late = [entry for entry in attack if entry[0] > first_refusal + 2]
        assert late and all(entry[2] == 429 for entry in late)
        assert {entry[1] for entry in late} == {first, second}
        admin = {"Authorization": "Bearer admin-key-0123456789"}
        listed = httpx.get(second + "/admin/fraud/breakers", headers=admin).json()["breakers"]
        # The range's breaker; with no approved traffic in Italy at all, the country's trips as well.
        assert ("prefix", RANGE, "open") in [(item["scope"], item["key"], item["state"]) for item in listed]
        assert {item["key"] for item in listed} <= {RANGE, "IT"}

        # An operator block made on one replica holds on the other within 2 s.
        spanish = iter(f"+34622000{index:03d}" for index in range(1000))  # numbers never used above
        assert (
            httpx.post(
                first + "/admin/fraud/breakers/country/ES", headers=admin, json={"action": "block", "note": "test"}
            ).status_code
            == 200
        )
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            refused = httpx.post(second + "/verify/start", json={"to": next(spanish)})
            if refused.status_code == 429:
                break
            time.sleep(0.2)
        assert (refused.status_code, refused.json().get("key")) == (429, "ES"), refused.json()
