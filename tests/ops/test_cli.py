"""The `otpservice` command, run as an operator would: a subprocess with its own environment."""

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from otpservice.db.migrate import head_revisions
from tests.ops.helpers import MASKED, NUMBER

BIN = Path(sys.executable).parent / "otpservice"
SECRETS = {
    "OTP_SECRET_KEY": "otp-secret-value-0123456789abcdef0123456789",
    "API_KEYS": "api-key-one-111,api-key-two-222",
    "WEBHOOK_SECRET": "hook-secret-333",
    "TWILIO_AUTH_TOKEN": "twilio-token-444",
}


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The environment is exactly PATH + `env`: nothing leaks in from the test run."""
    return subprocess.run(
        [*args],
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sqlite_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/data/otp.db",
        "OTP_SECRET_KEY": SECRETS["OTP_SECRET_KEY"],
        **extra,
    }


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("RATE_LIMIT_MAX_REQUESTS", "0", "RATE_LIMIT_MAX_REQUESTS"),
        ("RATE_LIMIT_TIME_WINDOW", "0", "RATE_LIMIT_TIME_WINDOW"),
        ("SERVICE_PROVIDER", "carrier-pigeon", "SERVICE_PROVIDER"),
        ("EXPONENTIAL_DELAY_MAX", "601", "EXPONENTIAL_DELAY_MAX"),
        ("SERVICE_PROVIDER", "vonage", "VONAGE_API_KEY"),
    ],
)
def test_a_bad_value_stops_serve_with_one_line_naming_it(tmp_path: Path, variable: str, value: str, named: str) -> None:
    result = run([str(BIN), "serve"], {variable: value, "PORT": "1"}, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert result.stdout == ""


def test_check_config_prints_settings_with_secrets_masked(tmp_path: Path) -> None:
    # Nothing listens on port 1: the settings are printed, the unreachable services named, exit 1.
    env = {
        **SECRETS,
        "DATABASE_URL": "postgresql+asyncpg://otp:db-password-555@127.0.0.1:1/otp",
        "RATE_LIMIT_STORAGE_URL": "redis://:redis-password-666@127.0.0.1:1/0",
        "PORT": "8080",
        "CONSOLE_PROVIDER_ALLOWED": "true",
    }
    result = run([sys.executable, "-m", "otpservice", "check-config"], env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "DATABASE_URL: cannot connect to 127.0.0.1:1/otp" in result.stderr
    assert "RATE_LIMIT_STORAGE_URL: cannot reach Redis at 127.0.0.1:1/0" in result.stderr
    assert "Traceback" not in result.stderr
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert shown["PORT"] == "8080" and shown["SERVICE_PROVIDER"] == "console"
    assert shown["OTP_SECRET_KEY"] == "********" and shown["WEBHOOK_SECRET"] == "********"
    assert shown["API_KEYS"] == "********,********"
    assert shown["DATABASE_URL"] == "postgresql+asyncpg://otp:********@127.0.0.1:1/otp"
    assert shown["RATE_LIMIT_STORAGE_URL"] == "redis://:********@127.0.0.1:1/0"
    output = result.stdout + result.stderr
    for secret in [*SECRETS.values(), "db-password-555", "redis-password-666"]:
        for part in secret.split(","):
            assert part not in output


def test_migrate_works_from_any_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "data").mkdir()
    result = run([str(BIN), "migrate"], sqlite_env(tmp_path), elsewhere)
    assert result.returncode == 0, result.stderr
    assert f"database: {tmp_path / 'data' / 'otp.db'}" in result.stderr.splitlines()
    with sqlite3.connect(tmp_path / "data" / "otp.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        versions = {row[0] for row in db.execute("SELECT version_num FROM alembic_version")}
    assert "messages" in tables
    assert versions == head_revisions("sqlite+aiosqlite://")
    assert list(elsewhere.iterdir()) == []


def test_send_prints_the_result_and_records_the_message(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result = run(
        [str(BIN), "send", "--to", NUMBER, "--body", "hello from the shell", "--sender", "ACME"],
        sqlite_env(tmp_path),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    printed = json.loads(line)
    assert printed["sid"].startswith("CO") and printed["status"] == "sent" and printed["numSegments"] == "1"
    with sqlite3.connect(tmp_path / "data" / "otp.db") as db:
        rows = db.execute(
            "SELECT receiver, sender, status FROM messages WHERE provider_sid = ?", (printed["sid"],)
        ).fetchall()
    assert rows == [(NUMBER, "ACME", "sent")]
    assert NUMBER not in result.stderr and MASKED in result.stderr


def test_send_refusal_prints_the_error_and_fails(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result = run(
        [str(BIN), "send", "--to", "+3933", "--body", "hi", "--sender", "ACME"], sqlite_env(tmp_path), tmp_path
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert json.loads(result.stderr.strip().splitlines()[-1])["code"] == "invalid_phone_number"


@pytest.mark.skipif(
    importlib.util.find_spec("otpservice.verify.purge") is None, reason="otpservice.verify.purge is not built yet"
)
def test_purge_prints_the_counts(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert run([str(BIN), "migrate"], sqlite_env(tmp_path), tmp_path).returncode == 0
    result = run([str(BIN), "purge"], sqlite_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"database: {tmp_path / 'data' / 'otp.db'}" in result.stderr.splitlines()
    counts = json.loads(result.stdout)
    assert isinstance(counts, dict) and counts and all(isinstance(v, int) for v in counts.values())


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run([str(BIN), "frobnicate"], {}, tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr
