"""`otpservice purge`: delete what is older than OTP_RETENTION_DAYS (SPEC section 5).

Pending verifications past their expiry are first marked expired, so that they too go
once old enough; verifications still pending and queued messages stay.
"""

from otpservice.clock import Clock, SystemClock, to_datetime
from otpservice.db.engine import make_engine, make_sessionmaker
from otpservice.db.messages import MessageStore
from otpservice.db.verifications import VerificationStore
from otpservice.settings import Settings

DAY_SECONDS = 86_400


async def purge(settings: Settings, clock: Clock | None = None) -> dict[str, int]:
    """Returns how many rows went: {"expired": marked expired, "verifications": deleted, "messages": deleted}."""
    now = (clock or SystemClock()).now()
    cutoff = to_datetime(now - settings.otp_retention_days * DAY_SECONDS)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        verifications = VerificationStore(sessions)
        expired = await verifications.expire_all_due(to_datetime(now))
        deleted_verifications = await verifications.purge_finished_before(cutoff)
        messages = MessageStore(sessions)
        if not settings.sms_queue_enabled:  # no worker will ever take a crashed send again
            await messages.fail_expired_leases(to_datetime(now), "the attempt was interrupted (lease expired)")
        deleted_messages = await messages.purge_older_than(cutoff)
    finally:
        await engine.dispose()
    return {"expired": expired, "verifications": deleted_verifications, "messages": deleted_messages}
