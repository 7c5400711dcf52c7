"""The start's answer says which language the code was sent in; an unknown one is English."""

import pytest

from tests.conftest import AppFactory, read_outbox


@pytest.mark.parametrize(
    ("asked", "used", "word"),
    [
        ("it-IT", "it", "codice"),
        ("pt_BR", "pt", "código"),
        ("tlh", "en", "code"),
        ("zz-ZZ", "en", "code"),
        (None, "en", "code"),
    ],
)
async def test_the_locale_used_is_in_the_answer(
    app_client: AppFactory, asked: str | None, used: str, word: str
) -> None:
    body = {"to": "+393331234567", **({"locale": asked} if asked else {})}
    async with app_client() as client:
        started = await client.post("/verify/start", json=body)
        message = (await read_outbox(client)).json()["messages"][0]["body"]
        detail = (await client.get(f"/verify/{started.json()['id']}")).json()
    assert started.status_code == 201 and started.json()["locale"] == used and detail["locale"] == used
    assert word in message.lower()
