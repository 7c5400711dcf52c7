"""Status callbacks to the app (SPEC 22), on SQLite and PostgreSQL: a message created through
the official SDK with `status_callback`, and a native /send with `statusCallback`, get their
status changes POSTed in Twilio's fields, signed so that the SDK's RequestValidator accepts
them with the credential the caller used; a refusing app is retried with backoff."""

import time

import httpx

from tests.api.conftest import LiveFactory
from tests.api.live import ACCOUNT_SID, twilio_client
from tests.messaging.callback_receiver import callback_receiver

NUMBER = "+393331234567"
FROM = "+15005550006"
AUTH_TOKEN = "the-apps-auth-token"


def test_a_message_created_with_the_sdk_reports_its_status_signed(live: LiveFactory) -> None:
    with callback_receiver(AUTH_TOKEN) as receiver, live(api_keys=AUTH_TOKEN) as app:
        client = twilio_client(app.url, password=AUTH_TOKEN)
        created = client.messages.create(to=NUMBER, from_=FROM, body="Your order shipped", status_callback=receiver.url)
        callbacks = receiver.wait_for(1)
    assert receiver.invalid == 0
    first = callbacks[0]
    assert (first["MessageSid"], first["SmsSid"]) == (created.sid, created.sid)
    assert (first["MessageStatus"], first["SmsStatus"]) == ("sent", "sent")
    assert (first["AccountSid"], first["To"], first["From"], first["ApiVersion"]) == (
        ACCOUNT_SID,
        NUMBER,
        FROM,
        "2010-04-01",
    )


def test_a_native_send_reports_to_its_status_callback_and_a_refusing_app_is_retried(live: LiveFactory) -> None:
    key = "native-api-key"
    with callback_receiver(key) as receiver, live(api_keys=key) as app:
        receiver.refuse = 2
        sent = httpx.post(
            app.url + "/send",
            json={"sender": "ACME", "receiver": NUMBER, "body": "hello", "statusCallback": receiver.url},
            headers={"Authorization": f"Bearer {key}"},
        )
        deadline = time.monotonic() + 15
        while not receiver.valid and time.monotonic() < deadline:
            app.clock.advance(5)  # the retries' backoff runs on the service's clock
            time.sleep(0.2)
        callbacks = receiver.wait_for(1)
        bad = httpx.post(
            app.url + "/send",
            json={"sender": "ACME", "receiver": NUMBER, "body": "x", "statusCallback": "ftp://nope"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert sent.status_code == 200 and receiver.invalid == 0 and receiver.refuse == 0
    assert len(callbacks) == 1  # delivered once, after two refusals
    assert callbacks[0]["MessageSid"] == sent.json()["sid"] and callbacks[0]["MessageStatus"] == "sent"
    assert callbacks[0]["MessageId"].startswith("MS")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_request")
