"""The Idempotency-Key header on the sending routes (SPEC 22).

The same key with the same request (method, path, body) from the same caller within 24 h
replays the first answer (status, headers, body) and sends nothing; another request under
that key is 422 `idempotency_key_reused`; while the first still runs, 409
`idempotency_in_progress`. Claims and answers live in the database (db/idempotency.py),
so they hold across restarts and replicas.

Kept answers are the ones that decided the request: every 2xx, and the refusals that a
retry of the same request would meet again (400, 403, 404, 405, 413). Others (401, 402,
429, 5xx: a retry may well succeed, and nothing was sent) are forgotten.
"""

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from otpservice.api.body import read_body
from otpservice.api.context import services_of
from otpservice.api.errors import handle_service_error
from otpservice.clock import to_datetime
from otpservice.db.idempotency import Stored
from otpservice.errors import IdempotencyInProgress, IdempotencyKeyReused, InvalidRequest, OTPServiceError

HEADER = "Idempotency-Key"
KEY = re.compile(r"[\x20-\x7e]{1,255}")
KEPT_REFUSALS = frozenset({400, 403, 404, 405, 413})
REPLAYED = "Idempotent-Replayed"

Endpoint = Callable[[Request], Awaitable[Response]]
# How a route answers an OTPServiceError (native body by default; Twilio's on Messages.json).
Render = Callable[[Request, OTPServiceError], Awaitable[Response]]


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def kept(status: int) -> bool:
    return 200 <= status < 300 or status in KEPT_REFUSALS


def idempotent(endpoint: Endpoint, render: Render = handle_service_error) -> Endpoint:
    """`endpoint` run at most once per caller and Idempotency-Key (without the header: always)."""

    async def run(request: Request) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return await endpoint(request)
        if not KEY.fullmatch(key):
            return await render(request, InvalidRequest(f"{HEADER} must be 1 to 255 printable ASCII characters"))
        body = await read_body(request)
        services = services_of(request)
        # Keys are the caller's own: scoped by the credential it presented (Bearer key or Basic pair).
        caller = request.headers.get("authorization", "").encode()
        scoped = _sha256(caller, key.encode())
        fingerprint = _sha256(request.method.encode(), request.url.path.encode(), body)
        store = services.messaging.idempotency
        claim = await store.claim(scoped, fingerprint, to_datetime(services.clock.now()))
        if claim == "reused":
            return await render(request, IdempotencyKeyReused())
        if claim == "in_progress":
            return await render(request, IdempotencyInProgress())
        if isinstance(claim, Stored):
            return replay(claim)
        try:
            try:
                response = await endpoint(request)
            except OTPServiceError as exc:
                response = await render(request, exc)
        except Exception:
            await asyncio.shield(store.release(scoped))
            raise
        if kept(response.status_code):
            headers = [(name, value) for name, value in response.headers.items() if name != "content-length"]
            await asyncio.shield(
                store.complete(scoped, response.status_code, json.dumps(headers), bytes(response.body))
            )
        else:
            await asyncio.shield(store.release(scoped))
        return response

    run.__name__ = getattr(endpoint, "__name__", "idempotent")
    return run


def replay(stored: Stored) -> Response:
    headers = dict(json.loads(stored.headers))
    headers[REPLAYED] = "true"
    return Response(stored.body, status_code=stored.answer_status, headers=headers)
