"""The text of a verification message, per channel and locale (English fallback).

templates/<language>.txt: SMS and WhatsApp. A template names the sender ({app}, OTP_APP_NAME)
and warns not to share the code ({code}). With an Android SMS Retriever app hash, the hash
ends the message on its own line.
templates/call/<language>.txt: what a call says ({digits}: the code digit by digit, slowly);
the provider's voice reads it twice in the locale's language. No digit but the code's.
templates/email/<language>.txt: the subject, a blank line, the plain-text part; the HTML part
is that text, escaped, with the code set apart.
"""

import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from importlib import resources
from importlib.abc import Traversable

DEFAULT_LOCALE = "en"
_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")
# The voice of a call per locale (Twilio <Say language>, Vonage talk language).
VOICE_LANGUAGES = {
    "de": "de-DE",
    "en": "en-US",
    "es": "es-ES",
    "fr": "fr-FR",
    "it": "it-IT",
    "nl": "nl-NL",
    "pt": "pt-PT",
}


@dataclass(frozen=True)
class EmailText:
    subject: str
    text: str
    html: str


def _load(folder: Traversable) -> dict[str, str]:
    return {
        entry.name.removesuffix(".txt"): entry.read_text(encoding="utf-8").strip()
        for entry in folder.iterdir()
        if entry.name.endswith(".txt")
    }


class MessageTemplates:
    def __init__(self, app_name: str) -> None:
        self._app_name = app_name
        folder = resources.files("otpservice.verify") / "templates"
        self._templates = _load(folder)
        self._calls = _load(folder / "call")
        self._emails = _load(folder / "email")

    @property
    def locales(self) -> frozenset[str]:
        return frozenset(self._templates)

    def resolve_locale(self, requested: str | None) -> str:
        """'it', 'it-IT' or 'it_CH' -> 'it'; anything without a template -> 'en'."""
        match = _LANGUAGE.match(requested or "")
        language = match.group(1).lower() if match else DEFAULT_LOCALE
        return language if language in self._templates else DEFAULT_LOCALE

    def render(self, locale: str, code: str, app_hash: str | None = None, *, app_name: str | None = None) -> str:
        """`app_name` replaces OTP_APP_NAME (a Twilio-compatible Service's FriendlyName)."""
        template = self._templates.get(locale, self._templates[DEFAULT_LOCALE])
        text = template.format(app=app_name or self._app_name, code=code)
        return f"{text}\n\n{app_hash}" if app_hash else text

    def render_call(self, locale: str, code: str, *, app_name: str | None = None) -> str:
        """What a call says: the code digit by digit, a pause after each (no other digit)."""
        template = self._calls.get(locale, self._calls[DEFAULT_LOCALE])
        app = re.sub(r"\d", "", app_name or self._app_name).strip()
        return " ".join(template.format(app=app, digits=", ".join(code)).split())

    def voice_language(self, locale: str) -> str:
        return VOICE_LANGUAGES.get(locale, VOICE_LANGUAGES[DEFAULT_LOCALE])

    def render_email(self, locale: str, code: str, *, app_name: str | None = None) -> EmailText:
        template = self._emails.get(locale, self._emails[DEFAULT_LOCALE])
        app = app_name or self._app_name
        subject, _, text = template.format(app=app, code=code).partition("\n\n")
        paragraphs = "".join(
            f"<p>{html.escape(part).replace(html.escape(code), f'<strong>{code}</strong>')}</p>"
            for part in text.split("\n\n")
        )
        return EmailText(subject.strip(), text.strip() + "\n", f"<!DOCTYPE html><html><body>{paragraphs}</body></html>")


def email_body(email: EmailText) -> str:
    """The email as a MIME message (Subject, a text and an HTML part): the sender adds From and To."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message.as_string()
