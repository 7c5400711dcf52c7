"""The webhooks otpservice POSTs to the app (SPEC 22), delivered in the background: no
request and no provider webhook waits for the app.

- `inbound`: an inbound SMS as JSON to INBOUND_WEBHOOK_URL, signed like alerts (SPEC 17):
  `X-Otpservice-Signature: sha256=<hex HMAC-SHA256 of the raw body with INBOUND_WEBHOOK_SECRET>`.
- `status`: a message's status change in Twilio's form fields to its StatusCallback, with
  `X-Twilio-Signature` computed with the credential the caller authenticated with, so that
  the app's own `RequestValidator(auth_token).validate(...)` accepts it.

Each waits in app_webhooks (a restart loses none) until the app answers 2xx, retried with
backoff (1 s doubling to 5 min) for up to an hour, then dropped with a log line.
"""

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl

import httpx

from otpservice.clock import Clock, to_datetime
from otpservice.db.app_webhooks import AppWebhookStore
from otpservice.db.messaging_models import AppWebhook
from otpservice.delivery.crypto import BodyCipher
from otpservice.delivery.signatures import twilio_signature
from otpservice.observability.alerts import SIGNATURE_HEADER, sign

log = logging.getLogger("otpservice.messaging")

RETRY_FOR = timedelta(hours=1)
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0
LEASE = timedelta(seconds=60)  # well above the client's timeout: one attempt at a time
POLL_SECONDS = 0.5


def new_webhook_id() -> str:
    return "WH" + uuid.uuid4().hex


class AppWebhookSender:
    def __init__(
        self,
        store: AppWebhookStore,
        http: httpx.AsyncClient,
        clock: Clock,
        cipher: BodyCipher,
        *,
        inbound_secret: str | None,
    ) -> None:
        self._store, self._http, self._clock, self._cipher = store, http, clock, cipher
        self._inbound_secret = inbound_secret
        self._wake = asyncio.Event()

    async def aclose(self) -> None:
        await self._http.aclose()

    def credential(self, secret: str, webhook_url: str) -> bytes:
        """A status callback's signing key, encrypted for the row that waits with it."""
        return self._cipher.encrypt(secret, webhook_url)

    async def enqueue(self, kind: str, url: str, body: bytes, credential: bytes | None = None) -> None:
        now = to_datetime(self._clock.now())
        await self._store.add(
            AppWebhook(
                id=new_webhook_id(),
                kind=kind,
                url=url,
                body=body,
                credential=credential,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
                lease_until=now,
            )
        )
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                due = await self._store.take_due(to_datetime(self._clock.now()), to_datetime(self._clock.now()) + LEASE)
                await asyncio.gather(*(self._attempt(row) for row in due))
            except Exception:  # the database may be down: try again later, never stop
                log.exception("app webhooks: delivery round failed")
                due = []
            if due:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
                await asyncio.wait(waits, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()

    async def _attempt(self, row: AppWebhook) -> None:
        headers = self._headers(row)
        delivered = False
        if headers is not None:
            try:
                answer = await self._http.post(row.url, content=row.body, headers=headers)
                delivered = 200 <= answer.status_code < 300
            except httpx.HTTPError:
                delivered = False
        now = to_datetime(self._clock.now())
        if delivered or headers is None:
            await self._store.remove(row.id)
            return
        attempts = row.attempts + 1
        wait = min(FIRST_BACKOFF_SECONDS * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
        if now + timedelta(seconds=wait) > row.created_at + RETRY_FOR:
            log.warning("app webhook dropped after retries", extra={"kind": row.kind, "attempts": attempts})
            await self._store.remove(row.id)
            return
        await self._store.reschedule(row.id, attempts, now + timedelta(seconds=wait))

    def _headers(self, row: AppWebhook) -> dict[str, str] | None:
        """The request's headers, signed; None when it can no longer be signed (key gone)."""
        if row.kind == "inbound":
            if self._inbound_secret is None:
                return None
            return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(row.body, self._inbound_secret)}
        secret = self._cipher.decrypt(row.credential, row.url) if row.credential else None
        if secret is None:
            log.warning("status callback dropped: its signing key cannot be read (OTP_SECRET_KEY rotated out)")
            return None
        params = dict(parse_qsl(row.body.decode(), keep_blank_values=True))
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(secret, row.url, params),
        }
