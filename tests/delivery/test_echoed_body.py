"""A provider that quotes the message in its error text (SPEC 14, 19): the 502 answer and every
stored record are scrubbed of the body whole (its words, its code), not just of digits. A real
service process, a fake Twilio echoing the body it was given."""

import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.delivery.test_processes import service_env
from tests.fakes import Reply, start_fake
from tests.process import serve

BODY = "Quokka zebra lantern 482913 PIN"
ECHO = Reply(400, json={"code": 21617, "message": "Rejected message body: '{echo}'", "status": 400}, echo="Body")


def stored_text(database: Path) -> str:
    """Every provider text a message's rows keep: its error, and each history step's detail."""
    with sqlite3.connect(database) as db:
        rows = [
            *db.execute("SELECT error_code, error_message, provider_status FROM messages").fetchall(),
            *db.execute("SELECT status, provider_status, error_code, detail FROM message_events").fetchall(),
        ]
    return " ".join(str(value) for row in rows for value in row if value is not None)


def leaked_words(text: str, body: str) -> set[str]:
    """The body's words (three letters or more, or with a digit) found in `text`, and any
    number masked the way scrub() masks one (its visible digits may be a code's)."""
    words = {word for word in re.findall(r"[^\W_]+", body) if len(word) >= 3 or not word.isalpha()}
    found = {word for word in words if word.casefold() in text.casefold()}
    return found | set(re.findall(r"\+?\d*\*{2,}\d*", text))


@pytest.mark.parametrize("queue", ["true", "false"])
def test_a_provider_echoing_the_body_leaves_no_word_of_it_in_the_answer_or_the_rows(tmp_path: Path, queue: str) -> None:
    database = tmp_path / "otp.db"
    with start_fake("twilio") as (_, fake):
        env = service_env(fake, database, SMS_DEFAULT_SENDER="ACME", SMS_QUEUE_ENABLED=queue)
        with serve(env, tmp_path / "serve.log") as (base_url, _):
            fake.push(ECHO)
            sent = httpx.post(base_url + "/send", json={"receiver": "+393331234567", "body": BODY})
            fake.push(ECHO)
            started = httpx.post(base_url + "/verify/start", json={"to": "+393331234568"})
        [send_request, start_request] = fake.sends
        code = re.search(r"\d{6}", start_request.form["Body"])
        assert code is not None
        assert send_request.form["Body"] == BODY  # it was given the body, and quoted it back
    assert sent.status_code == 502 and started.status_code == 502, (sent.text, started.text)
    assert "Rejected message body" in sent.json()["message"]  # the provider's own words stay
    assert leaked_words(sent.json()["message"], BODY) == set(), sent.text
    assert leaked_words(started.json()["message"], start_request.form["Body"]) == set(), started.text
    assert "Rejected message body: '[message]" in started.json()["message"]
    rows = stored_text(database)
    assert leaked_words(rows, BODY) == set()
    assert leaked_words(rows, start_request.form["Body"]) == set()
    assert code.group() not in rows and "[message]" in rows
