"""SQLAlchemy models. The schema itself is made only by the Alembic migrations."""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, LargeBinary, MetaData, String, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Message(Base):
    """Every SMS we were asked to send, whatever became of it."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8), default="sms")
    receiver: Mapped[str] = mapped_column(String(254))  # E.164, or an email address (channel email)
    sender: Mapped[str | None] = mapped_column(String(16))
    # sms, whatsapp, call or email; a call's language (e.g. en-US) for the voice that reads it.
    channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    language: Mapped[str | None] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    provider_status: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Outbox only: the body, encrypted, erased once sent or failed (SPEC section 8).
    body_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verification_id: Mapped[str | None] = mapped_column(String(34), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Retry state (delivery/policy.py): providers that refused it for good (comma-separated),
    # the provider its next attempt must go to (after an ambiguous outcome), how many
    # ambiguous outcomes it had, and the status callback URL given with its last attempt.
    refused_by: Mapped[str | None] = mapped_column(String(64))
    retry_provider: Mapped[str | None] = mapped_column(String(16))
    ambiguous_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    callback_url: Mapped[str | None] = mapped_column(String(512))

    __table_args__ = (
        Index("ix_messages_outbox", "status", "next_attempt_at"),
        # The console: outcomes per provider over a period, a verification's "sent", search by number.
        Index("ix_messages_created_provider_status", "created_at", "provider", "status"),
        Index("ix_messages_verification_status", "verification_id", "status"),
        Index("ix_messages_receiver_created", "receiver", "created_at"),
    )


class MessagePart(Base):
    """The provider id of each part of a multi-part send (Vonage gives one per part)."""

    __tablename__ = "message_parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(34), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_sid: Mapped[str] = mapped_column(String(64), index=True)


class MessageEvent(Base):
    """A message's status history: one row per state it entered."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(34), index=True)
    status: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_status: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(String(200))  # scrubbed: never the message body


class Verification(Base):
    """One verification of one number. No code is stored: only what, with
    OTP_SECRET_KEY, derives it again (salt + key id)."""

    __tablename__ = "verifications"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    to: Mapped[str] = mapped_column(String(254))  # E.164, or an email address (channel email)
    channel: Mapped[str] = mapped_column(String(8), default="sms")
    status: Mapped[str] = mapped_column(String(24))
    code_salt: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    code_length: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    app_hash: Mapped[str | None] = mapped_column(String(16))
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    check_attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_check_attempts: Mapped[int] = mapped_column(Integer)
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    last_message_id: Mapped[str | None] = mapped_column(String(34))
    client_ip_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Twilio-compatible service that started it (SPEC 11); None for native starts.
    service_sid: Mapped[str | None] = mapped_column(String(34))
    # ISO 3166 alpha-2 region of `to` (None when phonenumbers knows none): the console's per-country view.
    country: Mapped[str | None] = mapped_column(String(2))

    __table_args__ = (
        # At most one pending verification per number, on SQLite and PostgreSQL alike.
        Index(
            "uq_verifications_pending_to",
            "to",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_verifications_to_created", "to", "created_at"),
        # The console's overview reads only this index (a covering scan of the period).
        Index("ix_verifications_created_country_status", "created_at", "country", "status", "id"),
    )


class VerifyService(Base):
    """A Twilio Verify "Service" (SPEC 11): its name is the app name of its messages."""

    __tablename__ = "verify_services"

    sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    friendly_name: Mapped[str] = mapped_column(String(64))
    code_length: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FraudTally(Base):
    """The breaker's counts (SPEC 18): per key, one-second bucket and replica, what that replica saw.

    A replica adds to its own rows only; the others read them by `written_at` (epoch seconds)."""

    __tablename__ = "fraud_tallies"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch second of the events
    replica: Mapped[str] = mapped_column(String(16), primary_key=True)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    approved: Mapped[int] = mapped_column(Integer, default=0)
    early: Mapped[int] = mapped_column(Integer, default=0)  # of `sent`, approved within FRAUD_GRACE
    written_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_fraud_tallies_bucket", "bucket"),
        Index("ix_fraud_tallies_written_at", "written_at"),
    )


class FraudBreaker(Base):
    """A breaker that is, or was, not closed: its state, cooldown, probes and operator override."""

    __tablename__ = "fraud_breakers"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(8), default="closed")  # closed | open
    trips: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # end of the cooldown
    probes: Mapped[int] = mapped_column(Integer, default=0)
    probe_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_probe_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled: Mapped[int] = mapped_column(Integer, default=0)
    approved: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(200))
    override: Mapped[str | None] = mapped_column(String(8))  # block | allow
    override_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    counts_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PendingAlert(Base):
    """An alert webhook not yet taken by its receiver (SPEC 17): kept so that a restart loses none.

    Its process holds it by `lease_until`, renewed at every attempt; a row whose lease ran out
    belonged to a process that stopped, and another one takes it over."""

    __tablename__ = "pending_alerts"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, signed at each attempt
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the alert's `at`: retried for an hour from it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TotpEntity(Base):
    """An identity (a user of the operator's app) that has, or had, authenticator factors (SPEC 21)."""

    __tablename__ = "totp_entities"

    sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    service_sid: Mapped[str | None] = mapped_column(String(34))  # the Twilio-compatible Service, if any
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TotpFactor(Base):
    """An authenticator app's factor. The secret only encrypted (delivery/crypto.py, key from
    OTP_SECRET_KEY); `last_used_step` makes each time step acceptable once; `failures` in the
    window from `failure_window_start` lock it (totp/judge.py)."""

    __tablename__ = "totp_factors"

    sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    entity_sid: Mapped[str] = mapped_column(String(34), index=True)
    identity: Mapped[str] = mapped_column(String(64), index=True)
    friendly_name: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    digits: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(8))
    skew: Mapped[int] = mapped_column(Integer)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    failure_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TotpChallenge(Base):
    """A challenge of a factor (Twilio's Challenges): pending until a right code or its expiry."""

    __tablename__ = "totp_challenges"

    sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    factor_sid: Mapped[str] = mapped_column(String(34), index=True)
    entity_sid: Mapped[str] = mapped_column(String(34))
    identity: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    responded_reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TotpRecoveryCode(Base):
    """One single-use recovery code of an identity, as its SHA-256 only (totp/recovery.py)."""

    __tablename__ = "totp_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identity: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RevokedSession(Base):
    """A console session ended by logout (SPEC 19): refused on every replica and after restarts
    until `expires_at`, when its cookie would have expired anyway."""

    __tablename__ = "revoked_sessions"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# The messaging tables (SPEC 22) are declared in db/messaging_models.py, on this same Base.
from otpservice.db import messaging_models  # noqa: E402, F401
