"""Twilio's default opt-out keywords (CHANNELS-AND-MESSAGING.md section 3) and the standard
confirmations. A message is a keyword only when it is one word, matched case-insensitively
with surrounding spaces ignored ("STOP PLEASE" is not)."""

from typing import Literal

Keyword = Literal["stop", "start", "help"]

KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), "stop"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "start"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}
STOP_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from this number. "
    "Reply START to resubscribe."
)
START_REPLY = (
    "You have successfully been re-subscribed to messages from this number. Reply HELP for help. "
    "Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
DEFAULT_HELP_TEXT = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."


def keyword_of(body: str) -> Keyword | None:
    return KEYWORDS.get(body.strip().upper())
