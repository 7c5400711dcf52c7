"""A fake Twilio API (PROVIDERS.md, CHANNELS-AND-MESSAGING.md): Messages.json (SMS and
`whatsapp:` addresses), Calls.json (inline TwiML) and Balance.json."""

import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from otpservice.core.segments import count_segments
from tests.fakes.base import FakeProvider, Recorded, Reply, basic_login

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-not-a-real-one-91"
API_KEY_SID = "SK" + "fedcba9876543210" * 2
API_KEY_SECRET = "twilio-api-key-secret-not-real-37"

# Twilio's documented error codes, with their HTTP status and message.
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' or 'MessagingServiceSid' parameter is required to send a message."),
    21604: (400, "A 'To' phone number is required."),
    21608: (400, "The number {to} is unverified. Trial accounts cannot send messages to unverified numbers."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21201: (400, "No 'To' number is specified"),
    21217: (400, "Phone number does not appear to be valid"),
    63003: (400, "Channel could not find To address"),  # not a WhatsApp user
}


def error_reply(
    code: int,
    to: str = "+15005550001",
    *,
    status: int | None = None,
    retry_after: str | None = None,
    delay: float = 0.0,
) -> Reply:
    """Twilio's error envelope for `code`, e.g. error_reply(21211)."""
    default_status, message = ERRORS.get(code, (400, "Error {code}"))
    status = status or default_status
    headers = {"Retry-After": retry_after} if retry_after else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return Reply(
        status,
        json={
            "code": code,
            "message": message.format(to=to, code=code),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        headers=headers,
        delay=delay,
    )


class TwilioFake(FakeProvider):
    name = "twilio"

    def __init__(self, *, record: bool = True) -> None:
        super().__init__(record=record)
        self.valid_logins = {(ACCOUNT_SID, AUTH_TOKEN), (API_KEY_SID, API_KEY_SECRET)}
        self.call_sids: list[str] = []  # the calls it answered 201, in order

    def fail_next(self, code: int, to: str = "+15005550001", **options: Any) -> None:
        """The next send gets Twilio's error `code` (status, Retry-After, delay may be given)."""
        self.push(error_reply(code, to, **options))

    def settings(self) -> dict[str, Any]:
        return {
            "service_provider": "twilio",
            "twilio_base_url": self.base_url,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
        }

    def routes(self) -> list[Route]:
        prefix = "/2010-04-01/Accounts/{sid}"
        return [
            Route(prefix + "/Messages.json", self._messages, methods=["POST"]),
            Route(prefix + "/Calls.json", self._calls, methods=["POST"]),
            Route(prefix + "/Balance.json", self._balance, methods=["GET"]),
        ]

    async def _messages(self, request: Request) -> Response:
        return await self.serve(request, "send", lambda recorded: self._send(recorded, request))

    async def _calls(self, request: Request) -> Response:
        return await self.serve(request, "send", lambda recorded: self._call(recorded, request))

    def _call(self, recorded: Recorded, request: Request) -> Response:
        refused = self._refusal(recorded, request)
        if refused is not None:
            return refused
        form = recorded.form
        to = form.get("To", "")
        if not to:
            return error_reply(21201).response()
        if not _looks_e164(to):
            return error_reply(21217, to).response()
        if not form.get("From") or not (form.get("Twiml") or form.get("Url")):
            return error_reply(21205 if not form.get("From") else 21207, to).response()
        now = format_datetime(datetime.now(UTC).replace(microsecond=0))
        sid = "CA" + uuid.uuid4().hex
        self.call_sids.append(sid)
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "to": to,
                "from": form["From"],
                "status": "queued",
                "direction": "outbound-api",
                "date_created": now,
                "date_updated": now,
                "start_time": None,
                "end_time": None,
                "price": None,
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json",
            },
            status_code=201,
        )

    async def _balance(self, request: Request) -> Response:
        def answer(recorded: Recorded) -> Response:
            refused = self._refusal(recorded, request)
            if refused is not None:
                return refused
            return JSONResponse({"account_sid": ACCOUNT_SID, "balance": self.balance, "currency": "USD"})

        return await self.serve(request, "balance", answer)

    def _refusal(self, recorded: Recorded, request: Request) -> Response | None:
        if basic_login(recorded.headers.get("authorization", "")) not in self.valid_logins:
            return error_reply(20003).response()
        if request.path_params["sid"] != ACCOUNT_SID:
            return error_reply(20404).response()
        return None

    def _send(self, recorded: Recorded, request: Request) -> Response:
        refused = self._refusal(recorded, request)
        if refused is not None:
            return refused
        form = recorded.form
        to, body = form.get("To", ""), form.get("Body", "")
        whatsapp = to.startswith("whatsapp:")
        problem = (
            21604
            if not to
            else 21211
            if not _looks_e164(to.removeprefix("whatsapp:"))
            else 21603
            if whatsapp and not form.get("From", "").startswith("whatsapp:")
            else 21603
            if not (form.get("From") or form.get("MessagingServiceSid"))
            else 21602
            if not body
            else 21617
            if len(body) > 1600
            else None
        )
        if problem:
            return error_reply(problem, to).response()
        service = form.get("MessagingServiceSid") if not form.get("From") else None
        now = format_datetime(datetime.now(UTC).replace(microsecond=0))
        return JSONResponse(
            {
                "sid": "SM" + uuid.uuid4().hex,
                "account_sid": ACCOUNT_SID,
                "messaging_service_sid": service,
                "to": to,
                "from": form.get("From"),
                "body": body,
                "status": "accepted" if service else "queued",
                "num_segments": "0" if service else str(count_segments(body)),
                "direction": "outbound-api",
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "price": None,
                "price_unit": "USD",
                "api_version": "2010-04-01",
            },
            status_code=201,
        )


def _looks_e164(number: str) -> bool:
    digits = number.removeprefix("+")
    return number.startswith("+") and digits.isdigit() and 8 <= len(digits) <= 15
