"""Messaging (SPEC 22): opt-out keywords, inbound SMS, and the webhooks otpservice POSTs to the
app (status callbacks and inbound forwards)."""
