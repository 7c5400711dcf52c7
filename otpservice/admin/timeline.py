"""A verification's story in time order, from its row and its messages' delivery history.

Checks leave no row of their own: the row tells how many were made, and when the last
change (approval, attempts spent, cancel, expiry) happened.
"""

from dataclasses import dataclass
from datetime import datetime

from otpservice.db.reports import VerificationHistory


@dataclass(frozen=True)
class Entry:
    at: datetime | None
    event: str
    detail: str


def timeline(history: VerificationHistory) -> list[Entry]:
    verification = history.verification
    entries = [
        Entry(
            verification.created_at,
            "created",
            f"channel {verification.channel}, country {verification.country or 'unknown'}, "
            f"locale {verification.locale}, "
            f"code of {verification.code_length} digits",
        )
    ]
    for number, message in enumerate(history.messages, start=1):
        outcome = " → ".join(event.status for event in history.events.get(message.id, [])) or message.status
        entries.append(
            Entry(
                message.created_at,
                f"send {number}",
                f"{message.id} by {message.channel} via {message.provider}: {outcome}",
            )
        )
    if not history.messages and verification.send_attempts:
        entries.append(
            Entry(verification.last_sent_at, "sends", f"{verification.send_attempts} (a test number: no SMS)")
        )
    if verification.check_attempts:
        entries.append(
            Entry(None, "checks", f"{verification.check_attempts} of {verification.max_check_attempts} attempts used")
        )
    if verification.approved_at is not None:
        entries.append(Entry(verification.approved_at, "approved", "the right code was checked"))
    elif verification.status != "pending":
        entries.append(Entry(verification.updated_at, verification.status, "final state"))
    else:
        entries.append(Entry(verification.expires_at, "expires", "still pending"))
    return entries
