"""A login backend's phone step, written against otpservice: two calls and no SMS vendor code.

    OTPSERVICE_URL=http://127.0.0.1:3000 OTPSERVICE_API_KEY=... uvicorn examples.login_flow:app --port 8000

    POST /login/phone {"phone": "+393331234567"}                -> the code goes out by SMS
    POST /login/code  {"phone": "+393331234567", "code": "..."} -> a session, or why not

What the user sees is decided here from otpservice's answers:
- 201/200 from /verify/start: "we sent you a code" (200 = the same code sent again);
- 429 from /verify/start: wait `Retry-After` seconds (the number's delay, a cap, or a number
  locked after max_attempts_reached until its verification expires);
- /verify/check 200 with valid=false: wrong code, `checkAttemptsLeft` tries left;
- /verify/check 429 max_attempts_reached: locked until the verification expires, then start again;
- /verify/check 404: no code pending (expired, already used): start again.
"""

import os
import secrets

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

OTPSERVICE_URL = os.environ.get("OTPSERVICE_URL", "http://127.0.0.1:3000")
OTPSERVICE_API_KEY = os.environ.get("OTPSERVICE_API_KEY", "")
SESSIONS: dict[str, str] = {}  # a real backend keeps these in its own store


def otpservice() -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {OTPSERVICE_API_KEY}"} if OTPSERVICE_API_KEY else {}
    return httpx.AsyncClient(base_url=OTPSERVICE_URL, headers=headers, timeout=15)


async def send_code(request: Request) -> JSONResponse:
    phone = (await request.json()).get("phone", "")
    async with otpservice() as client:
        answer = await client.post(
            "/verify/start", json={"to": phone, "locale": request.headers.get("accept-language", "en").split(",")[0]}
        )
    if answer.status_code in (200, 201):
        return JSONResponse(
            {"sent": True, "resent": answer.status_code == 200, "expiresAt": answer.json()["expiresAt"]}
        )
    error = answer.json()
    if answer.status_code == 429:
        return JSONResponse(
            {"sent": False, "reason": error["code"], "retryAfter": int(answer.headers["Retry-After"])}, status_code=429
        )
    return JSONResponse({"sent": False, "reason": error["code"]}, status_code=400)


async def check_code(request: Request) -> JSONResponse:
    payload = await request.json()
    async with otpservice() as client:
        answer = await client.post(
            "/verify/check", json={"to": payload.get("phone", ""), "code": payload.get("code", "")}
        )
    if answer.status_code == 200:
        result = answer.json()
        if result["valid"]:
            session = secrets.token_urlsafe(24)
            SESSIONS[session] = result["to"]
            return JSONResponse({"loggedIn": True, "session": session})
        return JSONResponse(
            {"loggedIn": False, "reason": "wrong_code", "attemptsLeft": result["checkAttemptsLeft"]}, status_code=401
        )
    error = answer.json()
    if answer.status_code == 429:  # max_attempts_reached: locked until the verification expires
        return JSONResponse(
            {"loggedIn": False, "reason": error["code"], "retryAfter": int(answer.headers["Retry-After"])},
            status_code=429,
        )
    return JSONResponse({"loggedIn": False, "reason": error["code"]}, status_code=401)


app = Starlette(
    routes=[Route("/login/phone", send_code, methods=["POST"]), Route("/login/code", check_code, methods=["POST"])]
)
