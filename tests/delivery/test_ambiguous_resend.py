"""One ambiguous attempt, never a loop (SPEC 19, 24): a provider that takes every message but
answers after PROVIDER_TIMEOUT gets each message at most twice, the second time charged to
the spend budget again; a re-send the budget refuses is not sent. A real service process and
a fake Twilio on 127.0.0.1."""

import time
from pathlib import Path

import httpx

from tests.delivery.test_processes import service_env, wait_for
from tests.fakes import start_fake
from tests.process import serve

PROVIDER_TIMEOUT = 1  # the lease, after which the one re-send goes, is 2 s
LATE = 1.5  # the fake takes the message, then answers after the caller stopped waiting
BUDGET = 3


def final_status(http: httpx.Client, message_id: str) -> str:
    return str(http.get(f"/messages/{message_id}").json()["status"])


def test_a_provider_answering_late_gets_a_message_at_most_twice_within_the_spend_budget(tmp_path: Path) -> None:
    numbers = ["+393331234501", "+393331234502", "+393331234503"]
    with start_fake("twilio") as (_, fake):
        env = {
            **service_env(fake, tmp_path / "otp.db", SMS_BUDGET_HOUR=str(BUDGET), SMS_DEFAULT_SENDER="ACME"),
            "PROVIDER_TIMEOUT": str(PROVIDER_TIMEOUT),
        }
        fake.delay = LATE
        with serve(env, tmp_path / "serve.log") as (base_url, _):
            http = httpx.Client(base_url=base_url, timeout=30)
            first = http.post("/send", json={"receiver": numbers[0], "body": "first"})
            assert first.status_code == 202, first.text  # ambiguous: queued for its one re-send
            wait_for(lambda: final_status(http, first.json()["sid"]) == "ambiguous")  # charged twice now

            second = http.post("/send", json={"receiver": numbers[1], "body": "second"})  # the third charge
            assert second.status_code == 202, second.text
            wait_for(lambda: final_status(http, second.json()["sid"]) == "ambiguous")  # its re-send: no budget left
            third = http.post("/send", json={"receiver": numbers[2], "body": "third"})
            assert (third.status_code, third.json()["code"]) == (429, "budget_exhausted")

            time.sleep(3 * PROVIDER_TIMEOUT * 2)  # several leases: a loop would show up now
            per_number = dict.fromkeys(numbers, 0)
            for send in fake.sends:
                per_number[send.form["To"]] += 1
            assert per_number == {numbers[0]: 2, numbers[1]: 1, numbers[2]: 0}
            assert sum(per_number.values()) <= BUDGET  # every attempt that reached it was charged
            history = http.get(f"/messages/{first.json()['sid']}").json()["history"]
            assert [step["status"] for step in history] == ["ambiguous", "queued", "ambiguous"]
