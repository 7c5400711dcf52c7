"""The console's routes: login, overview, search, a verification's or message's page, actions.

Pages are HTML and every action is a POST form carrying a hidden CSRF field. Without a
session a page redirects to the login form; a POST without a valid token gets 403 and
changes nothing. These routes exist only while ADMIN_API_KEYS is set (else /admin is 404).
"""

import logging
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from otpservice.admin.breakers import SCOPES, InvalidBreakerKey, check_key, is_action
from otpservice.admin.console import Console, console_of, render
from otpservice.admin.overview import DEFAULT_PERIOD, PERIODS
from otpservice.admin.session import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    LOGIN_FORM_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Session,
)
from otpservice.admin.timeline import timeline
from otpservice.api.body import client_ip
from otpservice.core.phone import canonical_e164
from otpservice.errors import OTPServiceError, VerificationNotFound
from otpservice.totp.service import IDENTITY
from otpservice.verify.service import VERIFICATION_ID

log = logging.getLogger("otpservice.admin")
_E164_SHAPE = re.compile(r"\+[1-9][0-9]{1,14}")
MAX_NOTE = 200
Handler = Callable[[Request, Console, Session], Awaitable[Response]]


def _signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        console = console_of(request)
        session = console.keys.load(request.cookies.get(SESSION_COOKIE))
        if session is not None and await console.revoked.contains(session.nonce):
            session = None  # logged out: the cookie was copied, or kept by a browser
        if request.method == "POST":
            form = await request.form()
            if session is None or not console.keys.csrf_valid(session.nonce, form.get("csrf")):
                return render(
                    request,
                    "error.html",
                    403,
                    title="Forbidden",
                    message="This form has expired or did not come from the console. Nothing was changed.",
                )
        elif session is None:
            return RedirectResponse("/admin/login", status_code=303)
        return await handler(request, console, session)

    return endpoint


def _page(
    request: Request, console: Console, session: Session, template: str, status: int = 200, **context: Any
) -> Response:
    return render(
        request, template, status, csrf=console.keys.csrf_token(session.nonce), admin_key=session.short, **context
    )


async def login_form(request: Request) -> Response:
    return _login_page(request, console_of(request))


def _login_page(
    request: Request,
    console: Console,
    message: str | None = None,
    *,
    status: int = 401,
    headers: dict[str, str] | None = None,
) -> Response:
    nonce, cookie = console.keys.new_login_nonce()
    response = render(
        request,
        "login.html",
        status if message else 200,
        message=message,
        csrf=console.keys.csrf_token("login:" + nonce),
    )
    response.headers.update(headers or {})
    _set_cookie(response, console, LOGIN_COOKIE, cookie, LOGIN_FORM_SECONDS)
    return response


async def login(request: Request) -> Response:
    console = console_of(request)
    form = await request.form()
    nonce = console.keys.login_nonce(request.cookies.get(LOGIN_COOKIE))
    if nonce is None or not console.keys.csrf_valid("login:" + nonce, form.get("csrf")):
        return render(request, "error.html", 403, title="Forbidden", message="The login form expired: open it again.")
    key = form.get("key")
    session = console.keys.login(key) if isinstance(key, str) else None
    wait = await console.logins.refused_for(client_ip(request), correct=session is not None)  # wrong: counted first
    if wait is not None:
        log.warning("console login refused: too many failed logins", extra={"retry_after": math.ceil(wait)})
        minutes = math.ceil(wait / 60)
        message = (
            f"Too many failed logins from this address: try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
        return _login_page(request, console, message, status=429, headers={"Retry-After": str(math.ceil(wait))})
    if session is None:
        log.warning("console login failed: unknown key")
        return _login_page(request, console, "Unknown key.")
    console.audit(session, "login", "console")
    response = RedirectResponse("/admin", status_code=303)
    _set_cookie(response, console, SESSION_COOKIE, console.keys.dump(session), SESSION_SECONDS)
    response.delete_cookie(
        LOGIN_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=console.secure_cookies
    )
    return response


def _set_cookie(response: Response, console: Console, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="strict", secure=console.secure_cookies
    )


@_signed_in
async def logout(request: Request, console: Console, session: Session) -> Response:
    console.audit(session, "logout", "console")
    await console.revoked.add(session.nonce)
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=console.secure_cookies
    )
    return response


@_signed_in
async def overview(request: Request, console: Console, session: Session) -> Response:
    period = request.query_params.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    figures = await console.overview.figures(period)
    breakers = await console.breakers.list_breakers()
    try:
        budgets = await console.services.budget.usage(row.country for row in figures.countries if row.country)
    except OTPServiceError:  # the limit storage is down: the page still shows the rest
        budgets = None
    return _page(
        request,
        console,
        session,
        "overview.html",
        figures=figures,
        periods=list(PERIODS),
        breakers=breakers,
        budgets=budgets,
    )


@_signed_in
async def search(request: Request, console: Console, session: Session) -> Response:
    query = request.query_params.get("q", "").strip()[:80]
    if VERIFICATION_ID.fullmatch(query) and await console.reports.verification(query) is not None:
        return RedirectResponse(f"/admin/verifications/{query}", status_code=303)
    if _E164_SHAPE.fullmatch(query):
        verifications, messages = await console.reports.by_number(canonical_e164(query) or query)
        return _page(
            request, console, session, "search.html", query=query, verifications=verifications, messages=messages
        )
    found = await console.reports.message(query) if query else None
    if found is not None:
        return RedirectResponse(f"/admin/messages/{found[0].id}", status_code=303)
    totp = console.services.totp
    # Any other text may be an identity: its authenticator factors (never a secret: none is read).
    factors = await totp.factors_of(query) if totp is not None and IDENTITY.fullmatch(query) else []
    return _page(request, console, session, "search.html", query=query, verifications=[], messages=[], factors=factors)


@_signed_in
async def verification_page(request: Request, console: Console, session: Session) -> Response:
    history = await console.reports.verification(request.path_params["id"])
    if history is None:
        return _page(
            request, console, session, "error.html", 404, title="Not found", message="No verification has this id."
        )
    return _page(
        request,
        console,
        session,
        "verification.html",
        history=history,
        timeline=timeline(history),
        notice=request.query_params.get("notice"),
    )


@_signed_in
async def message_page(request: Request, console: Console, session: Session) -> Response:
    found = await console.reports.message(request.path_params["id"])
    if found is None:
        return _page(request, console, session, "error.html", 404, title="Not found", message="No message has this id.")
    return _page(request, console, session, "message.html", message=found[0], events=found[1])


@_signed_in
async def cancel_verification(request: Request, console: Console, session: Session) -> Response:
    verification_id = request.path_params["id"]
    try:
        await console.services.verify.cancel(verification_id)
        notice = "canceled"
    except VerificationNotFound:
        notice = "not-pending"
    console.audit(session, "cancel", verification_id, outcome=notice)
    return RedirectResponse(f"/admin/verifications/{verification_id}?notice={notice}", status_code=303)


@_signed_in
async def breakers_page(request: Request, console: Console, session: Session) -> Response:
    return _page(
        request,
        console,
        session,
        "breakers.html",
        breakers=await console.breakers.list_breakers(),
        scopes=SCOPES,
        notice=request.query_params.get("notice"),
    )


@_signed_in
async def opt_outs_page(request: Request, console: Console, session: Session) -> Response:
    listed, total = await console.services.messaging.opt_outs.newest()
    return _page(request, console, session, "opt_outs.html", opt_outs=listed, total=total)


@_signed_in
async def breaker_action(request: Request, console: Console, session: Session) -> Response:
    form = await request.form()
    scope, key, action = (str(form.get(name, "")).strip() for name in ("scope", "key", "action"))
    note = str(form.get("note", "")).strip()[:MAX_NOTE] or None
    ttl_text = str(form.get("ttl", "")).strip()
    ttl = float(ttl_text) if ttl_text.isdigit() and int(ttl_text) > 0 else None
    if scope not in SCOPES or not is_action(action) or (ttl_text and ttl is None):
        return await _breaker_refused(
            request, console, session, "Choose a scope, an action and a whole number of seconds (or nothing) as ttl."
        )
    try:
        key = check_key(scope, key)
        await console.breakers.act(scope, key, action, ttl, note)
    except InvalidBreakerKey as exc:
        return await _breaker_refused(request, console, session, str(exc))
    console.audit(session, action, f"{scope}:{key}", ttl=ttl, note=note)
    back = "/admin" if form.get("back") == "overview" else "/admin/breakers"
    return RedirectResponse(f"{back}?notice={action}", status_code=303)


async def _breaker_refused(request: Request, console: Console, session: Session, message: str) -> Response:
    return _page(
        request,
        console,
        session,
        "breakers.html",
        400,
        breakers=await console.breakers.list_breakers(),
        scopes=SCOPES,
        error=message,
    )


routes: list[BaseRoute] = [
    Route("/admin", overview, methods=["GET"], include_in_schema=False),
    Route("/admin/login", login_form, methods=["GET"], include_in_schema=False),
    Route("/admin/login", login, methods=["POST"], include_in_schema=False),
    Route("/admin/logout", logout, methods=["POST"], include_in_schema=False),
    Route("/admin/search", search, methods=["GET"], include_in_schema=False),
    Route("/admin/verifications/{id}", verification_page, methods=["GET"], include_in_schema=False),
    Route("/admin/verifications/{id}/cancel", cancel_verification, methods=["POST"], include_in_schema=False),
    Route("/admin/messages/{id}", message_page, methods=["GET"], include_in_schema=False),
    Route("/admin/breakers", breakers_page, methods=["GET"], include_in_schema=False),
    Route("/admin/breakers", breaker_action, methods=["POST"], include_in_schema=False),
    Route("/admin/opt-outs", opt_outs_page, methods=["GET"], include_in_schema=False),
]
