"""Console test helpers: traffic made through the public API, and logging in without a browser."""

import re
from dataclasses import dataclass, field

import httpx

from tests.conftest import read_outbox

ADMIN_KEY = "admin-key-for-tests-0123456789"
OTHER_ADMIN_KEY = "second-admin-key-for-tests-98765"
API_KEY = "api-key-for-tests-0123456789"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# Mobile numbers phonenumbers knows, by country.
NUMBERS = {
    "GB": "+4474001234{:02d}",
    "US": "+1201555{:04d}",
    "DE": "+49151234567{:02d}",
    "IN": "+9198765432{:02d}",
}


def number(country: str, index: int) -> str:
    return NUMBERS[country].format(index)


@dataclass
class Traffic:
    """What was done through the API, to compare with what the console shows."""

    started: dict[str, int] = field(default_factory=dict)
    approved: dict[str, int] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # number -> verification id


def code_for(outbox: list[dict[str, str]], to: str) -> str:
    body = next(message["body"] for message in outbox if message["to"] == to)
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found.group(1)


async def make_traffic(
    client: httpx.AsyncClient, plan: dict[str, tuple[int, int]], headers: dict[str, str] | None = None
) -> Traffic:
    """For each country, (starts, approvals): start that many verifications, approve the first ones
    with the code read from /dev/outbox, and send one wrong code to the others."""
    traffic = Traffic()
    for country, (starts, approvals) in plan.items():
        for index in range(starts):
            to = number(country, index)
            response = await client.post("/verify/start", json={"to": to}, headers=headers)
            assert response.status_code == 201, response.text
            traffic.ids[to] = response.json()["id"]
        traffic.started[country] = starts
        traffic.approved[country] = approvals
    outbox = (await read_outbox(client, headers=headers)).json()["messages"]
    for country, (starts, approvals) in plan.items():
        for index in range(starts):
            to = number(country, index)
            code = code_for(outbox, to) if index < approvals else "000000"
            checked = await client.post("/verify/check", json={"to": to, "code": code}, headers=headers)
            assert checked.status_code == 200 and checked.json()["valid"] is (index < approvals), checked.text
    return traffic


async def login(client: httpx.AsyncClient, key: str = ADMIN_KEY) -> str:
    """Log in through the form; returns a CSRF token of the session."""
    form = await client.get("/admin/login")
    token = CSRF.search(form.text)
    assert token, form.text
    response = await client.post("/admin/login", data={"csrf": token.group(1), "key": key})
    assert response.status_code == 303, response.text
    page = await client.get("/admin")
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found
    return found.group(1)
