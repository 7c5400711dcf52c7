"""A fake Kaleyra v1 API (PROVIDERS.md): POST /v1/{sid}/messages and a balance endpoint."""

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import FakeProvider, Recorded, Reply

SID = "HXAP16XXXXXX97IN"
API_KEY = "Ak4leyra-api-key-not-a-real-one-0042"
BALANCE_PATH = "/v1/{sid}/billing/balance"
TYPES = {"OTP", "TXN", "MKT", "DEFAULT"}


def error_reply(
    status: int,
    code: str,
    message: str,
    *,
    envelope: str = "nested",
    delay: float = 0.0,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A Kaleyra error. `envelope`: "nested" ({"error": {code, message}}), "top"
    (code/message at top level), "fields" ({"error": {"to": message}}) or "text" (not JSON)."""
    headers = headers or {}
    if envelope == "text":
        return Reply(status, text=message, headers=headers, delay=delay)
    if envelope == "top":
        return Reply(
            status, json={"code": code, "message": message, "data": [], "error": {}}, headers=headers, delay=delay
        )
    error = {"to": message} if envelope == "fields" else {"code": code, "message": message}
    return Reply(
        status,
        json={"code": code, "message": "Bad request" if envelope == "fields" else message, "data": [], "error": error},
        headers=headers,
        delay=delay,
    )


class KaleyraFake(FakeProvider):
    name = "kaleyra"

    def fail_next(self, status: int, code: str = "E400", message: str = "Bad request", **options: Any) -> None:
        self.push(error_reply(status, code, message, **options))

    def settings(self) -> dict[str, Any]:
        return {
            "service_provider": "kaleyra",
            "kaleyra_base_url": self.base_url,
            "kaleyra_sid": SID,
            "kaleyra_api_key": API_KEY,
            "kaleyra_balance_path": BALANCE_PATH,
        }

    def routes(self) -> list[Route]:
        return [
            Route("/v1/{sid}/messages", self._messages, methods=["POST"]),
            Route(BALANCE_PATH, self._balance, methods=["GET"]),
        ]

    async def _messages(self, request: Request) -> Response:
        return await self.serve(request, "send", lambda recorded: self._send(recorded, request))

    async def _balance(self, request: Request) -> Response:
        def answer(recorded: Recorded) -> Response:
            refused = self._refusal(recorded, request)
            if refused is not None:
                return refused
            body: dict[str, Any] = {"currency": "INR"}
            if self.balance is not None:
                body["balance"] = self.balance
            return JSONResponse(body)

        return await self.serve(request, "balance", answer)

    def _refusal(self, recorded: Recorded, request: Request) -> Response | None:
        if recorded.headers.get("api-key") != API_KEY:
            return error_reply(401, "E401", "Unauthorized: invalid API key").response()
        if request.path_params["sid"] != SID:
            return error_reply(404, "E404", "Account not found").response()
        return None

    def _send(self, recorded: Recorded, request: Request) -> Response:
        refused = self._refusal(recorded, request)
        if refused is not None:
            return refused
        form = recorded.form
        digits = form.get("to", "").removeprefix("+")
        if not digits.isdigit() or not 8 <= len(digits) <= 15:
            return error_reply(400, "E413", "Invalid mobile number", envelope="fields").response()
        if not form.get("sender") or not form.get("body") or form.get("type") not in TYPES:
            return error_reply(400, "E400", "sender, body and a valid type are required").response()
        batch = str(uuid.uuid4())
        return JSONResponse(
            {
                "id": batch,
                "sender": form["sender"],
                "type": form["type"],
                "body": form["body"],
                "createdDateTime": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00"),
                "totalCount": 1,
                "data": [{"message_id": f"{batch}:1", "recipient": digits}],
                "dlrurl": None,
                "error": {},
            },
            status_code=202,
        )
