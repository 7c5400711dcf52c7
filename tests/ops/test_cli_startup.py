"""Start-up as an operator meets it: one line naming the variable and a non-zero exit, never a
traceback; --version, help, --host/--port/--workers; check-config reaching what it names."""

import sqlite3
import sys
from pathlib import Path

import httpx
import pytest

from otpservice import __version__
from tests.conftest import REDIS_URL, reset_postgres, url_location
from tests.ops.test_cli import BIN, SECRETS, run, sqlite_env
from tests.process import free_port, serve

KEY = {"OTP_SECRET_KEY": SECRETS["OTP_SECRET_KEY"]}
TWILIO = {
    "SERVICE_PROVIDER": "twilio",
    "TWILIO_ACCOUNT_SID": "AC1",
    "TWILIO_AUTH_TOKEN": "t",
    "SMS_DEFAULT_SENDER": "ACME",
    "TWILIO_BASE_URL": "http://127.0.0.1:1",  # the start-up balance call: unreachable, a warning
}


def assert_one_line(result_stderr: str, named: str) -> None:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, result_stderr
    assert named in lines[0] and "Traceback" not in result_stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SMS_RATE_LIMIT": "inf"}, "SMS_RATE_LIMIT"),
        ({"KALEYRA_BALANCE_PATH": "/v1/{nope}/x"}, "KALEYRA_BALANCE_PATH"),
        ({"DATABASE_URL": "foo"}, "DATABASE_URL"),
        ({"OTP_ALLOWED_COUNTRIES": "ZZ"}, "OTP_ALLOWED_COUNTRIES"),
        ({"EXPONENTIAL_DELAY_BASE": "inf"}, "EXPONENTIAL_DELAY_BASE"),
        ({"RATE_LIMIT_TIME_WINDOW": "100000000y"}, "RATE_LIMIT_TIME_WINDOW"),
        ({"OTP_TEST_NUMBERS": "+1abc:123456", "OTP_TEST_NUMBERS_ALLOWED": "true"}, "OTP_TEST_NUMBERS"),
        ({"PORT": "0"}, "PORT"),
        ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/otp", **KEY, **TWILIO}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/otp", **KEY, **TWILIO}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://postgres@127.0.0.1/otp", **KEY}, "CONSOLE_PROVIDER_ALLOWED"),
        ({"RATE_LIMIT_STORAGE_URL": "redis://127.0.0.1:1/0", **KEY}, "RATE_LIMIT_STORAGE_URL"),
    ],
)
def test_a_bad_value_or_an_unreachable_service_stops_serve_in_one_line(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = run([str(BIN), "serve"], env, tmp_path)
    assert result.returncode != 0
    assert_one_line(result.stderr, named)
    assert list(tmp_path.iterdir()) == []  # nothing created on the way out


def test_an_unreachable_sqlite_folder_is_one_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/missing/otp.db", **KEY}
    result = run([str(BIN), "serve"], env, tmp_path)
    assert result.returncode != 0
    assert_one_line(result.stderr, "DATABASE_URL")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "RATE_LIMIT_STORAGE_URL"),
        ({"RATE_LIMIT_STORAGE_URL": REDIS_URL}, "DATABASE_URL"),
        (
            {
                "RATE_LIMIT_STORAGE_URL": REDIS_URL,
                "DATABASE_URL": "postgresql://u@h/otp",
                "CONSOLE_PROVIDER_ALLOWED": "true",
            },
            "SERVICE_PROVIDER",
        ),
    ],
)
def test_more_workers_are_refused_where_they_could_not_share(tmp_path: Path, env: dict[str, str], named: str) -> None:
    result = run([str(BIN), "serve", "--workers", "2"], {**KEY, **env}, tmp_path)
    assert result.returncode != 0
    assert_one_line(result.stderr, named)


def test_version_and_help(tmp_path: Path) -> None:
    version = run([str(BIN), "--version"], {}, tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"otpservice {__version__}"
    for command, words in [
        ("serve", ["--host", "--port", "--workers", "RATE_LIMIT_STORAGE_URL"]),
        ("purge", ["OTP_RETENTION_DAYS", "Never creates"]),
        ("check-config", ["limit storage", "Exit code 1"]),
        ("migrate", ["any folder"]),
    ]:
        shown = run([str(BIN), command, "--help"], {}, tmp_path)
        assert shown.returncode == 0
        for word in words:
            assert word in shown.stdout, (command, word)


def test_purge_never_creates_a_database(tmp_path: Path) -> None:
    result = run([str(BIN), "purge"], {"DATABASE_URL": "sqlite:///./otp.db", **KEY}, tmp_path)
    assert result.returncode != 0
    assert f"no database at {tmp_path / 'otp.db'}" in result.stderr
    assert not (tmp_path / "otp.db").exists()


def test_host_and_port_options_override_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {**sqlite_env(tmp_path), "PORT": "1", "HOST": "0.0.0.0"}
    (tmp_path / "data").mkdir()
    with serve(env, tmp_path / "log", args=["--host", "127.0.0.1", "--port", str(port)]) as (base_url, _):
        assert base_url.endswith(f":{port}")
        assert httpx.get(base_url + "/-/healthz").json() == {"status": "ok"}


def test_check_config_reaches_sqlite_and_says_where(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert run([str(BIN), "migrate"], sqlite_env(tmp_path), tmp_path).returncode == 0
    result = run([sys.executable, "-m", "otpservice", "check-config"], sqlite_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    location = tmp_path / "data" / "otp.db"
    assert f"database: {location} reached, schema at the latest migration" in result.stderr
    assert "limit storage: memory://" in result.stderr
    with sqlite3.connect(location) as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


@pytest.mark.postgres
@pytest.mark.redis
async def test_check_config_reaches_postgresql_and_redis(
    tmp_path: Path, postgres_database: str, redis_url: str
) -> None:
    await reset_postgres(postgres_database)
    url = postgres_database.replace("postgresql+asyncpg://", "postgres://")  # as hosts hand it out
    env = {"DATABASE_URL": url, "RATE_LIMIT_STORAGE_URL": redis_url, **KEY, **TWILIO}
    behind = run([str(BIN), "check-config"], env, tmp_path)
    assert behind.returncode == 1 and "run `otpservice migrate`" in behind.stderr
    assert run([str(BIN), "migrate"], env, tmp_path).returncode == 0
    result = run([str(BIN), "check-config"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"database: {url_location(url, 5432, '')} reached, schema at the latest migration" in result.stderr
    assert f"limit storage: Redis at {url_location(redis_url, 6379, '0')} reached" in result.stderr


def _children(pid: int) -> list[int]:
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            children.append(int(status.parent.name))
    return children


@pytest.mark.postgres
@pytest.mark.redis
async def test_workers_run_under_one_supervisor_and_share_the_limits(
    tmp_path: Path, postgres_database: str, redis_url: str, redis_prefix: str
) -> None:
    from tests.fakes import start_fake

    await reset_postgres(postgres_database)
    with start_fake("twilio") as (_, fake):
        env = {
            "DATABASE_URL": postgres_database,
            "RATE_LIMIT_STORAGE_URL": redis_url,
            "RATE_LIMIT_KEY_PREFIX": redis_prefix.replace(":", "-"),
            "RATE_LIMIT_MAX_REQUESTS": "5",
            "RATE_LIMIT_TIME_WINDOW": "1h",  # a minute aligned to the clock may end mid-test on a slow box
            "SMS_QUEUE_ENABLED": "false",
            **KEY,
            **fake.environment(),
        }
        assert run([str(BIN), "migrate"], env, tmp_path).returncode == 0
        with serve(env, tmp_path / "service.log", args=["--workers", "2"]) as (base_url, supervisor):
            workers = [
                Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                for pid in _children(supervisor.pid)
            ]
            statuses = []
            for index in range(8):
                with httpx.Client() as client:  # a new connection each time: any worker may take it
                    statuses.append(
                        client.post(
                            base_url + "/send",
                            json={"sender": "ACME", "receiver": f"+3933312345{index:02d}", "body": "hi"},
                        ).status_code
                    )
    # Two spawned workers (multiprocessing's resource tracker may sit beside them).
    assert len([command for command in workers if "spawn_main" in command]) == 2, workers
    assert sorted(statuses) == [200] * 5 + [429] * 3
