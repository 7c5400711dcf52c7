"""The floor: a bare Starlette app doing only what a send or a check cannot avoid.

    POST /floor/send   parse JSON; one POST to the (fake) provider in Twilio's format; one
                       INSERT into `messages`
    POST /floor/check  parse JSON; one SELECT of the pending verification of `to`; one
                       conditional UPDATE approving it

Same database (same schema: the package's own table objects), same engine settings
(otpservice.db.engine.make_engine: SQLite WAL + busy timeout, or the PostgreSQL pool), same
HTTP client choice as the service (httpx with httpx_aiohttp.AiohttpTransport, or httpx's
own pool), same server (uvicorn, 1 worker, no access log). No validation, no limits, no
logging, no metrics: what the service does on top of this is what the ratio measures.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import uvicorn
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from otpservice.db.engine import make_engine
from otpservice.db.models import Message, Verification

MESSAGES = Message.__table__
VERIFICATIONS = Verification.__table__


@dataclass
class FloorConfig:
    database_url: str
    provider_base_url: str
    account_sid: str
    auth_token: str
    sender: str
    transport: str  # "aiohttp" | "httpx"
    timeout: float = 10.0


@dataclass
class FloorState:
    engine: AsyncEngine
    http: httpx.AsyncClient
    messages_url: str


def make_client(config: FloorConfig) -> httpx.AsyncClient:
    """As otpservice.provider_setup.make_http_client does it."""
    transport: httpx.AsyncBaseTransport | None = None
    if config.transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport()
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=50)
    return httpx.AsyncClient(timeout=httpx.Timeout(config.timeout), transport=transport, limits=limits)


def create_floor_app(config: FloorConfig) -> Starlette:
    auth = (config.account_sid, config.auth_token)

    async def floor_send(request: Request) -> JSONResponse:
        state: FloorState = request.app.state.floor
        data = json.loads(await request.body())
        response = await state.http.post(
            state.messages_url,
            auth=auth,
            data={"To": data["receiver"], "From": data.get("sender") or config.sender, "Body": data["body"]},
        )
        receipt = response.json()
        now = datetime.now(UTC)
        async with state.engine.begin() as connection:
            await connection.execute(
                insert(MESSAGES).values(
                    id="MS" + uuid.uuid4().hex,
                    provider="twilio",
                    provider_sid=receipt["sid"],
                    kind="sms",
                    receiver=data["receiver"],
                    sender=data.get("sender"),
                    segments=int(receipt["num_segments"]),
                    status="sent",
                    provider_status=receipt["status"],
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        return JSONResponse(
            {
                "dateEvent": now.isoformat(),
                "numSegments": receipt["num_segments"],
                "sid": receipt["sid"],
                "status": "sent",
            }
        )

    async def floor_check(request: Request) -> JSONResponse:
        state: FloorState = request.app.state.floor
        data = json.loads(await request.body())
        now = datetime.now(UTC)
        table = VERIFICATIONS
        async with state.engine.begin() as connection:
            row = (
                await connection.execute(
                    select(table.c.id, table.c.check_attempts, table.c.max_check_attempts).where(
                        table.c.to == data["to"], table.c.status == "pending"
                    )
                )
            ).first()
            if row is None:
                return JSONResponse({"code": "verification_not_found"}, status_code=404)
            result = await connection.execute(
                update(table)
                .where(
                    table.c.id == row.id,
                    table.c.status == "pending",
                    table.c.check_attempts < table.c.max_check_attempts,
                )
                .values(check_attempts=table.c.check_attempts + 1, status="approved", approved_at=now, updated_at=now)
            )
        approved = result.rowcount == 1
        return JSONResponse(
            {
                "id": row.id,
                "to": data["to"],
                "status": "approved" if approved else "pending",
                "valid": approved,
                "checkAttemptsLeft": row.max_check_attempts - row.check_attempts - 1,
            }
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(config.database_url)
        http = make_client(config)
        base = config.provider_base_url.rstrip("/")
        app.state.floor = FloorState(
            engine=engine, http=http, messages_url=f"{base}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )
        try:
            yield
        finally:
            await http.aclose()
            await engine.dispose()

    return Starlette(
        routes=[
            Route("/floor/send", floor_send, methods=["POST"]),
            Route("/floor/check", floor_check, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the benchmark's floor app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--provider-base-url", required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--sender", default="OTPBench")
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    args = parser.parse_args(argv)
    config = FloorConfig(
        database_url=args.database_url,
        provider_base_url=args.provider_base_url,
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        sender=args.sender,
        transport=args.transport,
    )
    # The same server settings as `otpservice serve`.
    uvicorn.run(
        create_floor_app(config),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
