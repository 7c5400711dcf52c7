"""The words both sides of the house share: verification statuses, message states, message kinds.

The domain (verify, delivery) decides what they mean; the stores (db) write and match them.
"""

# A verification (SPEC 16: a check of anything but pending is 404; max_attempts_reached is 429).
PENDING, APPROVED, CANCELED = "pending", "approved", "canceled"
EXPIRED, FAILED, MAX_ATTEMPTS_REACHED = "expired", "failed", "max_attempts_reached"

# A message in the outbox; a state never moves backwards (delivery/states.py ranks them).
QUEUED, SENDING, SENT = "queued", "sending", "sent"
DELIVERED, UNDELIVERED = "delivered", "undelivered"
# A message's history word for an attempt whose outcome is unknown (it may have sent); also the
# final state of a message whose re-send after such an attempt was ambiguous too (never sent again).
AMBIGUOUS = "ambiguous"

# What a message carries: a verification code (sent first, checked against its verification) or a plain SMS.
CODE_KIND, PLAIN_KIND = "otp", "sms"
