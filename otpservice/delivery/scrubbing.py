"""A provider's free text without the message it was given (SPEC 14: the body scrubbed whole).

Providers quote the body in their errors in ways no exact match survives: cut short, their
own quoting, and the digits already masked by the provider's module (scrub() turns a code's
"482913" into "+48****", two of its digits still there). So every word of the provider's
text that is a word of the body (three letters or more, or any with a digit), a word cut
short from one, and every masked number, is hidden; runs of them (with the one- and two-letter
words between) become one "[message]".
"""

import re

from otpservice.providers.base import scrub

_WORD = re.compile(r"[^\W_]+")
_MASKED = re.compile(r"\+?\d*\*{2,}\d*")  # a number scrub() masked: maybe a code's digits
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HIDDEN = "\x00"
# Hidden words, with what lies between them (spaces, quotes, words of one or two letters).
_RUN = re.compile(r"\x00(?:(?:[^\w\x00]+|(?<!\w)[^\W_]{1,2}(?!\w))*\x00)*")


def without_body(text: str, body: str, limit: int = 200) -> str:
    """`text` fit for a caller, a log line and a row: no word of `body`, numbers masked, bounded."""
    cleaned = " ".join(_CONTROL.sub(" ", text).split())
    words = {word.casefold() for word in _WORD.findall(body) if len(word) >= 3 or not word.isalpha()}
    if words:
        cleaned = _MASKED.sub(_HIDDEN, cleaned)
        cleaned = _WORD.sub(lambda match: _hide(match, words), cleaned)
        cleaned = _RUN.sub("[message]", cleaned)
    return scrub(cleaned, limit)


def _hide(match: re.Match[str], words: set[str]) -> str:
    word = match.group().casefold()
    if word in words:
        return _HIDDEN
    text, end = match.string, match.end()
    cut_short = end == len(text) or text[end] in "…."
    if cut_short and len(word) >= 3 and any(candidate.startswith(word) for candidate in words):
        return _HIDDEN
    return match.group()
