"""POST /messaging/sms (SPEC 15) over a real socket: FluxKit's body in and out, the same
send as POST /send (record, delay, queue, errors), under API_KEYS."""

import httpx

from tests.api.conftest import LiveFactory

NUMBER = "+393331234567"


def test_a_sent_message_is_answered_in_fluxkits_shape_and_recorded(live: LiveFactory) -> None:
    with live() as app:
        response = httpx.post(app.url + "/messaging/sms", json={"to": NUMBER, "body": "hello", "from": "ACME"})
        record = httpx.get(f"{app.url}/messages/{response.json()['messageId']}")
        outbox = httpx.get(app.url + "/dev/outbox").json()["messages"]
    assert response.status_code == 200
    body = response.json()
    assert body == {"messageId": body["messageId"], "status": "sent", "channel": "sms", "to": NUMBER}
    assert record.status_code == 200 and record.json()["status"] == "sent"
    assert (outbox[0]["to"], outbox[0]["from"], outbox[0]["body"]) == (NUMBER, "ACME", "hello")


def test_a_message_over_the_provider_rate_is_queued_202(live: LiveFactory) -> None:
    with live(sms_queue_enabled=True, sms_rate_limit=0.01) as app:
        first = httpx.post(app.url + "/messaging/sms", json={"to": NUMBER, "body": "one"})
        second = httpx.post(app.url + "/messaging/sms", json={"to": "+393337654321", "body": "two"})
    assert (first.status_code, first.json()["status"]) == (200, "sent")
    assert (second.status_code, second.json()["status"]) == (202, "queued")


def test_it_shares_the_number_delay_with_send_and_answers_native_errors(live: LiveFactory) -> None:
    with live(exponential_delay_base=60, exponential_delay_max=300) as app:
        sent = httpx.post(app.url + "/send", json={"sender": "ACME", "receiver": NUMBER, "body": "one"})
        delayed = httpx.post(app.url + "/messaging/sms", json={"to": NUMBER, "body": "two", "from": "ACME"})
        invalid = httpx.post(app.url + "/messaging/sms", json={"to": "3331234567", "body": "x"})
        extra = httpx.post(app.url + "/messaging/sms", json={"to": NUMBER, "body": "x", "channel": "sms"})
        too_long = httpx.post(app.url + "/messaging/sms", json={"to": NUMBER, "body": "x" * 1601})
    assert sent.status_code == 200
    assert delayed.status_code == 429 and delayed.json()["code"] == "number_delayed"
    assert int(delayed.headers["Retry-After"]) >= 1
    for response in (invalid, extra, too_long):
        assert response.status_code == 400
        assert set(response.json()) == {"statusCode", "error", "message", "code"}


def test_it_needs_an_api_key_when_keys_are_set(live: LiveFactory) -> None:
    with live(api_keys="secret-key") as app:
        anonymous = httpx.post(app.url + "/messaging/sms", json={"to": NUMBER, "body": "hi"})
        keyed = httpx.post(
            app.url + "/messaging/sms",
            json={"to": NUMBER, "body": "hi"},
            headers={"Authorization": "Bearer secret-key"},
        )
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    assert keyed.status_code == 200
