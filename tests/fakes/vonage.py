"""A fake Vonage SMS API (PROVIDERS.md): POST /sms/json and GET /account/get-balance; and
its application APIs (CHANNELS-AND-MESSAGING.md 5.2, 5.4): POST /v1/messages (WhatsApp) and
POST /v1/calls (voice), JWT-authenticated when `app_public_key` is set.

Like Vonage, it answers HTTP 200 to every send and puts its verdict in messages[].
"""

import uuid
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from otpservice.core.segments import count_segments
from tests.fakes.base import FakeProvider, Recorded, Reply, basic_login

API_KEY = "a1b2c3d4"
API_SECRET = "VonageSecretNotReal77"

ERROR_TEXTS = {
    "1": "Throughput Rate Exceeded - please wait [ 1000 ] and retry",
    "2": "Missing to param",
    "3": "Invalid to param",
    "4": "Bad Credentials",
    "5": "Internal Error",
    "6": "Invalid Message",
    "7": "Number barred.",
    "8": "Partner account barred.",
    "9": "Partner quota exceeded.",
    "12": "Message too long",
    "15": "Illegal Sender Address - rejected",
    "29": "Non White-listed Destination - rejected",
}


def error_reply(status: str, error_text: str | None = None, to: str = "447700900000", *, delay: float = 0.0) -> Reply:
    """Vonage's HTTP 200 answer carrying one failed entry, e.g. error_reply("7")."""
    text = ERROR_TEXTS.get(status, "Error") if error_text is None else error_text
    return Reply(
        200, json={"message-count": "1", "messages": [{"to": to, "status": status, "error-text": text}]}, delay=delay
    )


class VonageFake(FakeProvider):
    name = "vonage"

    app_public_key: str | None = None  # PEM: the JWTs of /v1/* must verify with it
    app_id: str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"

    def __init__(self, *, record: bool = True) -> None:
        super().__init__(record=record)
        self._app_bodies: list[tuple[str, dict[str, Any]]] = []
        self.app_answers: list[dict[str, Any]] = []  # what /v1/* answered with success, in order

    def app_bodies(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, JSON body) of every /v1/* request, in order."""
        with self._lock:
            return list(self._app_bodies)

    def fail_next(self, status: str, error_text: str | None = None, **options: Any) -> None:
        self.push(error_reply(status, error_text, **options))

    def settings(self) -> dict[str, Any]:
        return {
            "service_provider": "vonage",
            "vonage_base_url": self.base_url,
            "vonage_api_key": API_KEY,
            "vonage_api_secret": API_SECRET,
        }

    def routes(self) -> list[Route]:
        return [
            Route("/sms/json", self._sms, methods=["POST"]),
            Route("/account/get-balance", self._balance, methods=["GET"]),
            Route("/v1/messages", self._app_api, methods=["POST"]),
            Route("/v1/calls", self._app_api, methods=["POST"]),
        ]

    async def _app_api(self, request: Request) -> Response:
        payload = await request.json()
        with self._lock:
            self._app_bodies.append((request.url.path, payload))
        return await self.serve(request, "send", lambda recorded: self._app_answer(recorded, request.url.path, payload))

    def _app_answer(self, recorded: Recorded, path: str, payload: dict[str, Any]) -> Response:
        token = recorded.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, self.app_public_key or "", algorithms=["RS256"])
        except jwt.PyJWTError:
            return JSONResponse(
                {"type": "https://developer.vonage.com/api-errors#unauthorized", "title": "Invalid Token"},
                status_code=401,
            )
        if claims.get("application_id") != self.app_id:
            return JSONResponse({"title": "Unauthorized"}, status_code=401)
        if path == "/v1/messages":
            if payload.get("channel") != "whatsapp" or not str(payload.get("to", "")).isdigit():
                problem = {
                    "title": "Invalid params",
                    "detail": "The value of one or more parameters is invalid.",
                    "invalid_parameters": [{"name": "to", "reason": "Invalid"}],
                }
                return JSONResponse(problem, status_code=422)
            accepted = {"message_uuid": str(uuid.uuid4())}
            self.app_answers.append(accepted)
            return JSONResponse(accepted, status_code=202)
        started = {
            "uuid": str(uuid.uuid4()),
            "status": "started",
            "direction": "outbound",
            "conversation_uuid": "CON-" + str(uuid.uuid4()),
        }
        self.app_answers.append(started)
        return JSONResponse(started, status_code=201)

    async def _sms(self, request: Request) -> Response:
        return await self.serve(request, "send", self._send)

    async def _balance(self, request: Request) -> Response:
        return await self.serve(request, "balance", self._read_balance)

    def _read_balance(self, recorded: Recorded) -> Response:
        # The account API takes the key and secret as query parameters or Basic auth.
        login = basic_login(recorded.headers.get("authorization", "")) or (
            recorded.query.get("api_key"),
            recorded.query.get("api_secret"),
        )
        if login != (API_KEY, API_SECRET):
            return JSONResponse({"error-code": "401", "error-code-label": "authentication failed"}, status_code=401)
        value = float(self.balance) if self.balance is not None else None
        return JSONResponse({"value": value, "autoReload": False})

    def _send(self, recorded: Recorded) -> Response:
        form = recorded.form
        to = form.get("to", "")
        missing = next((name for name in ("api_key", "api_secret", "from", "to", "text") if not form.get(name)), None)
        if missing:
            return error_reply("2", f"Missing {missing} param", to).response()
        if (form["api_key"], form["api_secret"]) != (API_KEY, API_SECRET):
            return error_reply("4", to=to).response()
        if not to.isdigit() or not 8 <= len(to) <= 15:
            return error_reply("3", "Invalid to param", to).response()
        segments = count_segments(form["text"])
        message_id = uuid.uuid4().hex.upper()[:16]
        return JSONResponse(
            {
                "message-count": str(segments),
                "messages": [
                    {
                        "to": to,
                        "message-id": f"{message_id}{index}",
                        "status": "0",
                        "remaining-balance": str(self.balance or "0"),
                        "message-price": "0.04",
                        "network": "23420",
                        **({"client-ref": form["client-ref"]} if "client-ref" in form else {}),
                    }
                    for index in range(segments)
                ],
            }
        )
