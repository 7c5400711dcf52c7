"""The Twilio Messaging compatible API (SPEC 22), driven by the official twilio SDK over a
real socket, on SQLite and PostgreSQL: create, fetch, the paged list with its filters, and
Twilio's error codes."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.api.conftest import LiveFactory
from tests.api.live import ACCOUNT_SID, twilio_client

NUMBERS = ["+393331234560", "+393331234561", "+393331234562", "+393331234563", "+393331234564"]
FROM = "+15005550006"


def error_of(call: object) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_create_fetch_and_list_as_twilio_does(live: LiveFactory) -> None:
    with live() as app:
        client = twilio_client(app.url)
        created = client.messages.create(to=NUMBERS[0], from_=FROM, body="Hello from the app")
        sent = app.outbox()
        fetched = client.messages(created.sid).fetch()
        listed = client.messages.list()
    assert created.sid.startswith("SM") and len(created.sid) == 34
    assert (created.to, created.from_, created.body) == (NUMBERS[0], FROM, "Hello from the app")
    assert (created.status, created.direction, created.num_segments) == ("sent", "outbound-api", "1")
    assert created.account_sid == ACCOUNT_SID and created.api_version == "2010-04-01"
    assert isinstance(created.date_created, datetime) and isinstance(created.date_sent, datetime)
    assert created.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{created.sid}.json"
    assert sent == ["Hello from the app"]
    assert (fetched.sid, fetched.status, fetched.body, fetched.to) == (created.sid, "sent", created.body, NUMBERS[0])
    assert fetched.date_created == created.date_created
    assert [message.sid for message in listed] == [created.sid]


def test_the_list_pages_and_filters(live: LiveFactory) -> None:
    with live() as app:
        client = twilio_client(app.url)
        start = datetime.fromtimestamp(app.clock.now(), tz=UTC)
        sids = []
        for number in NUMBERS:
            sids.append(client.messages.create(to=number, from_=FROM, body=f"to {number}").sid)
            app.clock.advance(86400)  # a day apart
        everything = client.messages.list(page_size=2)
        limited = client.messages.list(limit=3)
        one_number = client.messages.list(to=NUMBERS[2])
        from_other = client.messages.list(from_="+15005550007")
        that_day = client.messages.list(date_sent=start.date())
        since = client.messages.list(date_sent_after=start + timedelta(days=3))
        until = client.messages.list(date_sent_before=start + timedelta(days=1))
        page = list(client.messages.page(page_size=2))
        other_account = twilio_client(app.url, username="AC" + "2" * 32).messages.list()
    assert [message.sid for message in everything] == sids[::-1]  # newest first, across 3 pages
    assert [message.sid for message in limited] == sids[::-1][:3]
    assert [message.to for message in one_number] == [NUMBERS[2]]
    assert from_other == []
    assert [message.sid for message in that_day] == [sids[0]]
    assert [message.sid for message in since] == sids[3:][::-1]
    assert [message.sid for message in until] == sids[:2][::-1]
    assert [message.sid for message in page] == sids[::-1][:2]
    assert other_account == []


def test_errors_have_twilios_codes(live: LiveFactory) -> None:
    with live(api_keys="right-key", rate_limit_max_requests=2) as app:
        client = twilio_client(app.url, password="right-key")
        bad_to = error_of(lambda: client.messages.create(to="5551234567", from_=FROM, body="x"))
        no_body = error_of(lambda: client.messages.create(to=NUMBERS[0], from_=FROM, body=""))
        too_long = error_of(lambda: client.messages.create(to=NUMBERS[0], from_=FROM, body="x" * 1601))
        no_from = error_of(lambda: client.messages.create(to=NUMBERS[0], body="x"))
        bad_callback = error_of(
            lambda: client.messages.create(to=NUMBERS[0], from_=FROM, body="x", status_callback="ftp://x")
        )
        wrong_key = error_of(
            lambda: twilio_client(app.url, password="wrong").messages.create(to=NUMBERS[0], from_=FROM, body="x")
        )
        media = error_of(
            lambda: client.messages.create(to=NUMBERS[0], from_=FROM, body="x", media_url=["https://a.example/1.png"])
        )
        delete = error_of(lambda: client.messages("SM" + "0" * 32).delete())
        missing = error_of(lambda: client.messages("SM" + "0" * 32).fetch())
        not_a_sid = error_of(lambda: client.messages("nope").fetch())
        client.messages.create(to=NUMBERS[0], from_=FROM, body="one")
        client.messages.create(to=NUMBERS[1], from_=FROM, body="two")
        limited = error_of(lambda: client.messages.create(to=NUMBERS[2], from_=FROM, body="three"))
        sent = app.outbox()
    assert (bad_to.status, bad_to.code) == (400, 21211)
    assert "is not a valid phone number" in bad_to.msg
    assert (no_body.status, no_body.code) == (400, 21602)
    assert (too_long.status, too_long.code) == (400, 21617)
    assert (no_from.status, no_from.code) == (400, 21603)
    assert (bad_callback.status, bad_callback.code) == (400, 21609)
    assert (wrong_key.status, wrong_key.code) == (401, 20003)
    assert (media.status, media.code) == (400, 21200) and "MediaUrl" in media.msg
    assert (delete.status, delete.code) == (405, 20004)
    assert (missing.status, missing.code) == (404, 20404) and (not_a_sid.status, not_a_sid.code) == (404, 20404)
    assert (limited.status, limited.code) == (429, 20429)
    assert sent == ["two", "one"]


def test_an_idempotency_key_on_messages_json_replays_the_message(live: LiveFactory) -> None:
    with live(api_keys="k") as app:
        url = f"{app.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        form = {"To": NUMBERS[0], "From": FROM, "Body": "once"}
        auth = (ACCOUNT_SID, "k")
        headers = {"Idempotency-Key": "m-1"}
        first = httpx.post(url, data=form, auth=auth, headers=headers)
        again = httpx.post(url, data=form, auth=auth, headers=headers)
        other = httpx.post(url, data={**form, "Body": "twice"}, auth=auth, headers=headers)
        unauthenticated = httpx.post(url, data=form, auth=(ACCOUNT_SID, "wrong"), headers=headers)
        sent = app.outbox()
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert (other.status_code, other.json()["code"]) == (422, 20422)
    assert (unauthenticated.status_code, unauthenticated.json()["code"]) == (401, 20003)
    assert sent == ["once"]
