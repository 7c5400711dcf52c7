"""Spend budgets and alerts (SPEC 17) over real `otpservice serve` processes."""

import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.alert_receiver import Receiver, alert_receiver
from tests.process import free_port, serve
from tests.test_replicas import replica_env  # noqa: F401 (a fixture)

GB = ["+447400123450", "+447400123451", "+447400123452", "+447400123453", "+447400123454"]
IT = ["+393331234560", "+393331234561", "+393331234562", "+393331234563"]


def wait_for(receiver: Receiver, count: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while len(receiver.alerts) < count:
        assert time.monotonic() < deadline, f"alerts received: {receiver.events()}"
        time.sleep(0.1)


def send(base_url: str, number: str) -> httpx.Response:
    return httpx.post(base_url + "/send", json={"receiver": number, "body": "hello", "sender": "ACME"}, timeout=10)


def sqlite_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otp.db", "OTP_SECRET_KEY": "k" * 32, **extra}


def test_a_country_budget_stops_that_country_alone_and_alerts_once(tmp_path: Path) -> None:
    with alert_receiver() as receiver:
        env = sqlite_env(
            tmp_path, SMS_BUDGET_COUNTRIES="GB:3", ALERT_WEBHOOK_URL=receiver.url, ALERT_WEBHOOK_SECRET=receiver.secret
        )
        with serve(env, tmp_path / "serve.log") as (base_url, _):
            gb = [send(base_url, number) for number in GB]
            started = httpx.post(base_url + "/verify/start", json={"to": "+447400123459"}, timeout=10)
            it = [send(base_url, number) for number in IT]
            outbox = httpx.get(base_url + "/dev/outbox").json()["messages"]
            wait_for(receiver, 2)
            time.sleep(0.5)  # nothing more comes
    assert [answer.status_code for answer in gb] == [200, 200, 200, 429, 429]
    refused = gb[3].json()
    assert (refused["code"], refused["scope"], refused["key"]) == ("budget_exhausted", "country", "GB")
    assert 1 <= int(gb[3].headers["Retry-After"]) <= 86400
    assert (started.status_code, started.json()["code"]) == (429, "budget_exhausted")  # a code is a send too
    assert [answer.status_code for answer in it] == [200] * 4
    assert sum(message["to"].startswith("+44") for message in outbox) == 3
    assert receiver.bad_signatures == 0
    assert sorted(receiver.events()) == [("budget_exhausted", "country", "GB"), ("budget_threshold", "country", "GB")]
    threshold = next(alert for alert in receiver.alerts if alert["event"] == "budget_threshold")
    assert (threshold["used"], threshold["limit"], threshold["window"]) == (3, 3, "day")
    assert threshold["at"].endswith("Z")


def test_a_hanging_or_absent_receiver_never_holds_a_send_back(tmp_path: Path) -> None:
    with alert_receiver(hold=True) as receiver:
        env = sqlite_env(
            tmp_path, SMS_BUDGET_HOUR="2", ALERT_WEBHOOK_URL=receiver.url, ALERT_WEBHOOK_SECRET=receiver.secret
        )
        with serve(env, tmp_path / "serve.log") as (base_url, _):
            # The receiver holds every request until released: each send still answers.
            answers = [send(base_url, number) for number in IT]
            assert not receiver.alerts
            receiver.release.set()
            wait_for(receiver, 2)
    assert [answer.status_code for answer in answers] == [200, 200, 429, 429]
    assert Counter(event for event, _, _ in receiver.events()) == {"budget_threshold": 1, "budget_exhausted": 1}


def test_an_alert_the_receiver_missed_is_retried(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there yet
    env = sqlite_env(
        tmp_path,
        SMS_BUDGET_HOUR="1",
        ALERT_WEBHOOK_URL=f"http://127.0.0.1:{port}/alerts",
        ALERT_WEBHOOK_SECRET="alert-secret",
    )
    with serve(env, tmp_path / "serve.log") as (base_url, _):
        assert send(base_url, IT[0]).status_code == 200
        time.sleep(1.5)  # the first delivery has failed by now
        with alert_receiver(port=port) as receiver:
            wait_for(receiver, 1, seconds=20)
    assert receiver.events() == [("budget_threshold", "global", "*")]


def test_an_alert_not_yet_taken_survives_a_restart(tmp_path: Path) -> None:
    """The receiver is down while the alert is raised; the process is stopped (SIGTERM) and a
    new one on the same database delivers it, once, when the receiver is back."""
    port = free_port()  # nothing listens there yet
    env = sqlite_env(
        tmp_path,
        SMS_BUDGET_HOUR="1",
        ALERT_WEBHOOK_URL=f"http://127.0.0.1:{port}/alerts",
        ALERT_WEBHOOK_SECRET="alert-secret",
    )
    with serve(env, tmp_path / "first.log") as (base_url, _):
        assert send(base_url, IT[0]).status_code == 200
        time.sleep(1.5)  # the first delivery has failed by now
    with alert_receiver(port=port) as receiver, serve(env, tmp_path / "second.log"):
        wait_for(receiver, 1, seconds=30)
        time.sleep(1.5)  # nothing more comes
    assert receiver.events() == [("budget_threshold", "global", "*")]
    assert receiver.bad_signatures == 0


@pytest.mark.postgres
@pytest.mark.redis
def test_two_replicas_share_one_budget(replica_env: dict[str, str], tmp_path: Path) -> None:
    with alert_receiver() as receiver:
        env = {
            **replica_env,
            "SMS_BUDGET_DAY": "4",
            "ALERT_WEBHOOK_URL": receiver.url,
            "ALERT_WEBHOOK_SECRET": receiver.secret,
            "CONSOLE_PROVIDER_ALLOWED": "true",
        }
        with serve(env, tmp_path / "a.log") as (first, _), serve(env, tmp_path / "b.log") as (second, _):
            answers = [send((first, second)[index % 2], f"+3933312345{index:02d}") for index in range(8)]
            wait_for(receiver, 2)
            time.sleep(0.5)
    assert [answer.status_code for answer in answers] == [200] * 4 + [429] * 4
    assert {answer.json()["scope"] for answer in answers[4:]} == {"global"}
    assert Counter(event for event, _, _ in receiver.events()) == {"budget_threshold": 1, "budget_exhausted": 1}


def test_an_opened_breaker_is_alerted_once_with_its_counts(tmp_path: Path) -> None:
    with alert_receiver() as receiver:
        env = sqlite_env(
            tmp_path,
            FRAUD_GUARD="enforce",
            FRAUD_MIN_SETTLED="3",
            ALERT_WEBHOOK_URL=receiver.url,
            ALERT_WEBHOOK_SECRET=receiver.secret,
        )
        with serve(env, tmp_path / "serve.log") as (base_url, _):
            for index in range(3):  # started to one range, never approved
                started = httpx.post(base_url + "/verify/start", json={"to": f"+91912345000{index}"}, timeout=10)
                assert started.status_code == 201, started.text
                assert httpx.post(f"{base_url}/verify/{started.json()['id']}/cancel", timeout=10).status_code == 200
            deadline, attempt = time.monotonic() + 15, 0
            while (
                refused := httpx.post(base_url + "/verify/start", json={"to": f"+9191234500{50 + attempt}"}, timeout=10)
            ).status_code != 429:
                assert time.monotonic() < deadline, refused.text
                attempt += 1  # another number of the range each time: never the number's own delay
                time.sleep(0.5)
            wait_for(receiver, 1)
            time.sleep(0.5)
    assert refused.json()["code"] == "destination_suspended"
    assert receiver.events() == [("breaker_opened", "prefix", "+91912345")]
    alert = receiver.alerts[0]
    assert (alert["settled"], alert["approved"], alert["ratio"]) == (3, 0, 0.0) and alert["threshold"] == 0.2
    assert receiver.bad_signatures == 0
