"""Reading what the console provider sent, and the services behind a test client."""

import re
from typing import Any

import httpx
from sqlalchemy import text

from otpservice.api.context import Services

NUMBER = "+393331234567"
OTHER_NUMBER = "+393337654321"
_CODE = re.compile(r"(?<![A-Za-z0-9+/])\d{4,10}(?![A-Za-z0-9+/])")


def services(client: httpx.AsyncClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined,no-any-return]


def sent_bodies(client: httpx.AsyncClient) -> list[str]:
    """Bodies the console provider sent, newest first."""
    return [message["body"] for message in services(client).provider.outbox]  # type: ignore[attr-defined]


def last_code(client: httpx.AsyncClient) -> str:
    match = _CODE.search(sent_bodies(client)[0])
    assert match, "no code in the last message"
    return match.group()


def wrong_code(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


async def start(client: httpx.AsyncClient, to: str = NUMBER, **extra: Any) -> httpx.Response:
    return await client.post("/verify/start", json={"to": to, **extra})


async def check(client: httpx.AsyncClient, code: str, **selector: str) -> httpx.Response:
    return await client.post("/verify/check", json={**(selector or {"to": NUMBER}), "code": code})


async def verification_rows(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    async with services(client).engine.connect() as connection:
        result = await connection.execute(text("SELECT * FROM verifications ORDER BY created_at"))
        return [dict(row._mapping) for row in result]
