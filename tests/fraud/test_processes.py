"""Black box (SPEC 18): the breaker of real `otpservice serve` processes judges sends as they happen.

One process on SQLite: the start after the one that tipped a range is refused, at once; a reset
discards the counts before it, also those not yet written. Two replicas on PostgreSQL + Redis:
a trip holds on the other replica within 2 s, and a reset made on one replica while the other
holds unwritten counts is not undone by them.
"""

import time
from pathlib import Path

import httpx
import pytest

from tests.fraud.helpers import RANGE, in_range
from tests.process import serve
from tests.test_replicas import replica_env  # noqa: F401  (fixture)

ADMIN_KEY = "admin-key-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SETTINGS = {
    "FRAUD_GUARD": "enforce",
    "FRAUD_MIN_SETTLED": "5",
    "RATE_LIMIT_MAX_REQUESTS": "100000",
    "OTP_MAX_REQUESTS_PER_IP_MINUTE": "100000",
    "SMS_QUEUE_ENABLED": "false",
    "ADMIN_API_KEYS": ADMIN_KEY,
    "LOG_LEVEL": "warning",
}


def start(base_url: str, index: int) -> httpx.Response:
    return httpx.post(base_url + "/verify/start", json={"to": in_range(index)}, timeout=10)


def reset(base_url: str) -> None:
    answer = httpx.post(base_url + f"/admin/fraud/breakers/prefix/{RANGE}", headers=ADMIN, json={"action": "reset"})
    assert answer.status_code == 200 and answer.json()["state"] == "closed", answer.text


def listed(base_url: str) -> list[tuple[str, str]]:
    breakers = httpx.get(base_url + "/admin/fraud/breakers", headers=ADMIN).json()["breakers"]
    return [(item["key"], item["state"]) for item in breakers]


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": "process-test-key-0123456789abcdef0123456789",
        **SETTINGS,
    }


def test_the_process_that_decides_refuses_the_very_next_start(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    with serve(sqlite_env, tmp_path / "otp.log") as (url, _):
        assert [start(url, index).status_code for index in range(5)] == [201] * 5  # the fifth tips it: sent
        refused = start(url, 5)  # no wait: the counts are this process's own
        assert (refused.status_code, refused.json()["code"], refused.json()["key"]) == (
            429,
            "destination_suspended",
            RANGE,
        )
        assert listed(url) == [(RANGE, "open")]


def test_a_reset_discards_the_counts_before_it_and_new_traffic_trips_again(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    with serve(sqlite_env, tmp_path / "otp.log") as (url, _):
        assert [start(url, index).status_code for index in range(4)] == [201] * 4  # not written yet
        reset(url)
        time.sleep(1.1)  # the next second: the reset's own second is discarded whole
        assert [start(url, index).status_code for index in range(10, 14)] == [201] * 4  # 4, not 8
        assert listed(url) == []
        assert start(url, 14).status_code == 201  # the fifth after the reset
        assert start(url, 15).status_code == 429


@pytest.mark.postgres
@pytest.mark.redis
def test_replicas_share_trips_within_two_seconds_and_a_reset_beats_unwritten_counts(
    replica_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {**replica_env, **SETTINGS}
    with serve(env, tmp_path / "a.log") as (first, _), serve(env, tmp_path / "b.log") as (second, _):
        assert [start(first, index).status_code for index in range(4)] == [201] * 4  # in `first`'s memory
        reset(second)  # on the other replica, before `first` wrote anything
        time.sleep(1.5)
        assert [start(first, index).status_code for index in range(10, 14)] == [201] * 4
        time.sleep(1.5)  # `second` has read `first`'s rows by now: 4 after the reset
        assert start(second, 14).status_code == 201  # the fifth: trips on `second`
        assert start(second, 15).status_code == 429  # at once there
        deadline = time.monotonic() + 2.0
        while start(first, 16).status_code != 429:
            assert time.monotonic() < deadline, "the trip did not reach the other replica within 2 s"
            time.sleep(0.1)
        assert listed(first) == [(RANGE, "open")]
