"""The fake providers themselves speak the wire formats the app tests rely on."""

import time

import httpx
import pytest

from tests.fakes import Reply, start_fake
from tests.fakes.kaleyra import API_KEY, SID
from tests.fakes.twilio import ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, AUTH_TOKEN
from tests.fakes.vonage import API_KEY as VONAGE_KEY, API_SECRET

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def test_twilio_fake_checks_basic_auth_and_the_to_number() -> None:
    with start_fake("twilio") as (url, _):
        form = {"To": "+14155552671", "From": "ACME", "Body": "hi"}
        refused = httpx.post(url + MESSAGES, data=form, auth=(ACCOUNT_SID, "wrong"))
        assert refused.status_code == 401 and refused.json()["code"] == 20003
        assert "WWW-Authenticate" in refused.headers
        assert httpx.post(url + MESSAGES, data=form, auth=(API_KEY_SID, API_KEY_SECRET)).status_code == 201
        invalid = httpx.post(url + MESSAGES, data={**form, "To": "12345"}, auth=(ACCOUNT_SID, AUTH_TOKEN))
        assert (invalid.status_code, invalid.json()["code"]) == (400, 21211)


def test_twilio_fake_answers_a_messaging_service_send_as_twilio_does() -> None:
    with start_fake("twilio") as (url, _):
        created = httpx.post(
            url + MESSAGES,
            auth=(ACCOUNT_SID, AUTH_TOKEN),
            data={"To": "+14155552671", "MessagingServiceSid": "MG1", "Body": "hi"},
        ).json()
        assert (created["status"], created["num_segments"], created["from"]) == ("accepted", "0", None)
        assert created["sid"].startswith("SM") and len(created["sid"]) == 34


def test_kaleyra_fake_checks_the_api_key() -> None:
    with start_fake("kaleyra") as (url, fake):
        form = {"to": "+919812345678", "sender": "ACME", "body": "hi", "type": "TXN"}
        assert httpx.post(f"{url}/v1/{SID}/messages", data=form, headers={"api-key": "nope"}).status_code == 401
        accepted = httpx.post(f"{url}/v1/{SID}/messages", data=form, headers={"api-key": API_KEY})
        assert accepted.status_code == 202 and accepted.json()["data"][0]["recipient"] == "919812345678"
        assert [request.headers["api-key"] for request in fake.sends] == ["nope", API_KEY]


def test_vonage_fake_refuses_in_a_200_and_reads_balance_either_way() -> None:
    with start_fake("vonage") as (url, fake):
        bad = httpx.post(
            url + "/sms/json",
            data={"api_key": VONAGE_KEY, "api_secret": "x", "from": "ACME", "to": "447911123456", "text": "hi"},
        )
        assert bad.status_code == 200 and bad.json()["messages"][0]["status"] == "4"
        fake.balance = "3.5"
        by_query = httpx.get(url + "/account/get-balance", params={"api_key": VONAGE_KEY, "api_secret": API_SECRET})
        by_basic = httpx.get(url + "/account/get-balance", auth=(VONAGE_KEY, API_SECRET))
        assert by_query.json()["value"] == by_basic.json()["value"] == 3.5
        assert httpx.get(url + "/account/get-balance", auth=(VONAGE_KEY, "x")).status_code == 401


def test_script_delay_log_and_stop() -> None:
    with start_fake("vonage", record=True) as (url, fake):
        fake.push(Reply(418, text="teapot"), kind="balance")
        fake.push(Reply(503, text="down", delay=0.3))
        assert httpx.get(url + "/account/get-balance").status_code == 418
        started = time.monotonic()
        assert httpx.post(url + "/sms/json", data={}).status_code == 503
        assert time.monotonic() - started >= 0.3
        assert httpx.post(url + "/sms/json", data={}).json()["messages"][0]["status"] == "2"
        assert [request.kind for request in fake.requests] == ["balance", "send", "send"]
        fake.stop()
        with pytest.raises(httpx.ConnectError):
            httpx.post(url + "/sms/json", data={})


def test_benchmark_mode_keeps_no_log() -> None:
    with start_fake("twilio", record=False) as (url, fake):
        response = httpx.post(
            url + MESSAGES, auth=(ACCOUNT_SID, AUTH_TOKEN), data={"To": "+14155552671", "From": "ACME", "Body": "hi"}
        )
        assert response.status_code == 201 and fake.requests == []
