"""docs/api.md's "Coming from Twilio Verify" snippet, run as written against `otpservice serve`
on its defaults (as ./scripts/run starts it), with only the port changed."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.process import serve

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SCRIPTS_RUN_URL = "http://127.0.0.1:3000"


def api_doc_snippet() -> str:
    section = API_DOC.read_text().split("## Coming from Twilio Verify", 1)[1]
    after = section.split("Run as written against", 1)[1]
    match = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert match, "no python snippet after 'Run as written against'"
    return match.group(1)


def test_the_api_doc_snippet_starts_and_checks_a_verification(tmp_path: Path) -> None:
    snippet = api_doc_snippet()
    assert SCRIPTS_RUN_URL in snippet and "twilio" in snippet
    # ./scripts/run's defaults: SQLite in the working directory, console provider, no keys.
    with serve({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otpservice.db"}, tmp_path / "serve.log") as (
        base_url,
        _,
    ):
        script = tmp_path / "snippet.py"
        script.write_text(snippet.replace(SCRIPTS_RUN_URL, base_url))
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", "")},
        )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"VE[0-9a-f]{32} pending", lines[0])
    assert lines[-1] == "approved True"
