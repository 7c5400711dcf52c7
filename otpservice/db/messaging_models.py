"""The messaging tables (SPEC 22): Idempotency-Key answers, Messages.json sends, status
callbacks, webhooks to the app, opt-outs and inbound SMS. Declared on models.Base (which
imports this module, so that the metadata Alembic compares has them)."""

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from otpservice.db.models import Base, UTCDateTime


class IdempotencyKey(Base):
    """An Idempotency-Key seen on a sending route (SPEC 22): its request's fingerprint and,
    once answered, the answer replayed to the same request for 24 h. `answer_status` is None
    while the first request runs (held until `lease_until`)."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(caller scope, key)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256(method, path, body)
    answer_status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str | None] = mapped_column(Text)  # JSON list of [name, value]
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)


class AppMessage(Base):
    """A message sent through the Twilio-compatible Messages.json (SPEC 22): whose it is and
    what Twilio's Message JSON shows beyond the messages row (a plain send's body)."""

    __tablename__ = "app_messages"

    message_id: Mapped[str] = mapped_column(String(34), primary_key=True)  # messages.id
    account_sid: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    messaging_service_sid: Mapped[str | None] = mapped_column(String(34))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_app_messages_account_created", "account_sid", "created_at"),)


class StatusCallback(Base):
    """Where the app wants a message's status changes (StatusCallback / statusCallback), and
    the last history row (message_events.id) already handed to the webhook queue."""

    __tablename__ = "status_callbacks"

    message_id: Mapped[str] = mapped_column(String(34), primary_key=True)
    url: Mapped[str] = mapped_column(String(1024))
    account_sid: Mapped[str] = mapped_column(String(64))
    credential: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted: the key the caller signed in with
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AppWebhook(Base):
    """A POST to the app waiting for a 2xx: a status callback or an inbound message forward."""

    __tablename__ = "app_webhooks"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # status | inbound
    url: Mapped[str] = mapped_column(String(1024))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    credential: Mapped[bytes | None] = mapped_column(LargeBinary)  # status: encrypted signing key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)


class OptOut(Base):
    """A number that replied STOP (or another opt-out keyword): plain sends to it are refused."""

    __tablename__ = "opt_outs"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class InboundMessage(Base):
    """An SMS received on one of our numbers (Twilio, Vonage or Kaleyra inbound webhook)."""

    __tablename__ = "inbound_messages"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(32))
    receiver: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    keyword: Mapped[str | None] = mapped_column(String(16))  # stop | start | help, when it was one
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
