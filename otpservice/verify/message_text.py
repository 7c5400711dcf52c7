"""The text of a verification SMS, per locale (templates/<language>.txt, English fallback).

A template names the sender ({app}, OTP_APP_NAME) and warns not to share the code ({code}).
With an Android SMS Retriever app hash, the hash ends the message on its own line.
"""

import re
from importlib import resources

DEFAULT_LOCALE = "en"
_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")


def _load_templates() -> dict[str, str]:
    folder = resources.files("otpservice.verify") / "templates"
    return {
        entry.name.removesuffix(".txt"): entry.read_text(encoding="utf-8").strip()
        for entry in folder.iterdir()
        if entry.name.endswith(".txt")
    }


class MessageTemplates:
    def __init__(self, app_name: str) -> None:
        self._app_name = app_name
        self._templates = _load_templates()

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
