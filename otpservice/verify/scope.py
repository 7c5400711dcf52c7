"""The Twilio-compatible Service a verification is started or checked under (SPEC 11, 16)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceScope:
    sid: str
    app_name: str  # the Service's FriendlyName, named in its messages
    code_length: int
