"""OTP_SECRET_KEY: given by the operator, or (console provider on SQLite only) generated once.

The generated key lives in `otpservice.secret` beside the SQLite file, mode 0600, so that a
newcomer's codes survive restarts. Anywhere else a missing key stops the process.
"""

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from otpservice.settings import Settings, SettingsError

log = logging.getLogger("otpservice.verify.keys")

SECRET_FILE_NAME = "otpservice.secret"
RECOMMENDED_KEY_LENGTH = 32


@dataclass(frozen=True)
class SecretKeys:
    current: str
    previous: tuple[str, ...]


def resolve_secret_keys(settings: Settings) -> SecretKeys:
    """The keys codes are derived with; raises SettingsError naming OTP_SECRET_KEY."""
    configured = settings.otp_secret_key.get_secret_value() if settings.otp_secret_key else ""
    current = configured or _development_key(settings)
    if configured and len(configured) < RECOMMENDED_KEY_LENGTH:
        log.warning("OTP_SECRET_KEY is shorter than %d characters: use a long random key", RECOMMENDED_KEY_LENGTH)
    previous = tuple(key.get_secret_value() for key in settings.otp_previous_secret_keys if key.get_secret_value())
    return SecretKeys(current=current, previous=previous)


def secret_file_path(database_url: str) -> Path | None:
    """Where the generated key goes: beside the SQLite file (None for an in-memory database)."""
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve().parent / SECRET_FILE_NAME


def _development_key(settings: Settings) -> str:
    if settings.service_provider != "console" or not settings.is_sqlite:
        raise SettingsError("OTP_SECRET_KEY: required (it is generated only with SERVICE_PROVIDER=console on SQLite)")
    path = secret_file_path(settings.database_url)
    if path is None:
        log.warning("OTP_SECRET_KEY is not set: using a throw-away key for this in-memory database")
        return secrets.token_urlsafe(48)
    try:
        return _read_or_create(path)
    except OSError as exc:
        raise SettingsError(f"OTP_SECRET_KEY: not set, and {path} cannot be used ({exc.strerror})") from None


def _read_or_create(path: Path) -> str:
    if not path.exists():
        _create(path)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s is readable by other users: chmod 600 it", path)
    key = path.read_text().strip()
    if not key:
        raise SettingsError(f"OTP_SECRET_KEY: {path} is empty; delete it or set OTP_SECRET_KEY")
    return key


def _create(path: Path) -> None:
    """Write the key beside, then link it into place: concurrent starters all read one key."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (secrets.token_urlsafe(48) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return
    finally:
        temporary.unlink()
    log.warning(
        "OTP_SECRET_KEY is not set: generated a development key into %s (mode 0600); set OTP_SECRET_KEY in production",
        path,
    )
