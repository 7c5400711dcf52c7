"""README's quickstart, the five calls run as written by bash against `otpservice serve` on
./scripts/run's defaults (SQLite in the working directory, console provider, no keys), with only
the port changed."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.process import serve

README = Path(__file__).resolve().parents[2] / "README.md"
SCRIPTS_RUN_ADDRESS = "localhost:3000"


def quickstart() -> str:
    after = README.read_text().split("<!-- quickstart -->", 1)[1]
    match = re.match(r"\s*```sh\n(.*?)```", after, re.DOTALL)
    assert match, "no sh block right after <!-- quickstart -->"
    return match.group(1)


def test_the_quickstart_is_five_calls_to_the_default_address() -> None:
    calls = [line for line in quickstart().splitlines() if line and not line.startswith("#")]
    assert len(calls) == 5 and all("curl" in call and SCRIPTS_RUN_ADDRESS in call for call in calls)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quickstart calls curl")
def test_the_quickstart_sends_starts_reads_the_code_checks_and_reads_back(tmp_path: Path) -> None:
    with serve({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otpservice.db"}, tmp_path / "serve.log") as (
        base_url,
        _,
    ):
        script = quickstart().replace(SCRIPTS_RUN_ADDRESS, base_url.removeprefix("http://"))
        # One answer per line, so that each call's JSON can be read apart.
        script = script.replace("curl -s ", "curl -s -w '\\n' ")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", "")},
        )
    assert result.returncode == 0, result.stderr
    sent, checked, fetched = (json.loads(line) for line in result.stdout.splitlines())
    assert sent["status"] == "sent" and sent["numSegments"] == "1"
    assert checked["valid"] is True and checked["status"] == "approved"
    assert fetched["id"] == checked["id"] and fetched["status"] == "approved" and fetched["approvedAt"]
