"""The project's scripts and the test suite, run as a newcomer would: scripts/run installs only
what serving needs and says so; the suite goes where TEST_POSTGRES_URL and TEST_REDIS_URL say."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import IN_CI, POSTGRES_URL, REDIS_URL, require_service, url_address
from tests.process import free_port

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.db", ".pytest_cache", ".mypy_cache", ".ruff_cache")


def test_scripts_run_installs_only_what_serving_needs_and_says_so(tmp_path: Path) -> None:
    copy = tmp_path / "otpservice"
    shutil.copytree(ROOT, copy, ignore=SKIPPED)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    result = subprocess.run(["scripts/run", "--help"], cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "usage: otpservice serve" in result.stdout
    said = [line for line in result.stderr.splitlines() if line.startswith("scripts/run:")]
    assert any("installing" in line for line in said), result.stderr[-3000:]
    python = copy / ".venv" / "bin" / "python"
    assert subprocess.run([python, "-c", "import otpservice.app"], capture_output=True).returncode == 0
    for test_tool in ("pytest", "schemathesis", "selenium", "mypy"):
        found = subprocess.run([python, "-c", f"import {test_tool}"], capture_output=True)
        assert found.returncode != 0, f"scripts/run installed {test_tool}"
    # Once installed, a second run installs nothing and says nothing of it.
    again = subprocess.run(["scripts/run", "--help"], cwd=copy, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "installing" not in again.stderr


@pytest.mark.postgres
@pytest.mark.redis
def test_the_suite_goes_where_test_postgres_url_and_test_redis_url_say(tmp_path: Path) -> None:
    """A Redis of its own on another port and database number, and PostgreSQL named `localhost`:
    the tests that reach both pass there."""
    require_service("PostgreSQL", *url_address(POSTGRES_URL, 5432))
    require_service("Redis", *url_address(REDIS_URL, 6379))
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server not installed")
    host, _ = url_address(POSTGRES_URL, 5432)
    if host != "127.0.0.1":
        pytest.skip("TEST_POSTGRES_URL is not on 127.0.0.1: this test renames 127.0.0.1 localhost")
    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        env = {
            **os.environ,
            "CI": "true",  # an unreachable service fails instead of skipping
            "TEST_REDIS_URL": f"redis://127.0.0.1:{port}/3",
            "TEST_POSTGRES_URL": POSTGRES_URL.replace("@127.0.0.1", "@localhost", 1),
        }
        chosen = [
            "tests/ops/test_cli_startup.py::test_check_config_reaches_postgresql_and_redis",
            "tests/limits/test_budget.py",
        ]
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *chosen],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-4000:]
        assert " passed" in result.stdout and "skipped" not in result.stdout
        stats = subprocess.run(["redis-cli", "-p", str(port), "info", "stats"], capture_output=True, text=True).stdout
        processed = int(stats.split("total_commands_processed:", 1)[1].split()[0])
        assert processed > 20  # the tests' own traffic went to this Redis
    finally:
        redis.terminate()
        redis.wait(timeout=10)
