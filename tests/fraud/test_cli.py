"""`otpservice fraud list|reset|block|allow`, run as an operator would."""

import json
from pathlib import Path

from tests.ops.test_cli import BIN, run, sqlite_env


def test_block_list_and_reset_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    env = sqlite_env(tmp_path, LOG_LEVEL="warning")
    blocked = run(
        [str(BIN), "fraud", "block", "prefix", "+3933312", "--ttl", "600", "--note", "premium"], env, tmp_path
    )
    assert blocked.returncode == 0, blocked.stderr
    [listed] = json.loads(blocked.stdout)["breakers"]
    assert (listed["scope"], listed["key"], listed["state"], listed["reason"]) == (
        "prefix",
        "+3933312",
        "blocked",
        "premium",
    )
    override_line = next(json.loads(line) for line in blocked.stderr.splitlines() if "breaker override" in line)
    assert (override_line["key"], override_line["action"], override_line["actor"]) == ("+3933312", "block", "cli")
    assert json.loads(run([str(BIN), "fraud", "list"], env, tmp_path).stdout)["breakers"] == [listed]
    allowed = run([str(BIN), "fraud", "allow", "country", "GB"], env, tmp_path)
    assert [item["state"] for item in json.loads(allowed.stdout)["breakers"]] == ["allowed", "blocked"]
    reset = run([str(BIN), "fraud", "reset", "prefix", "+3933312"], env, tmp_path)
    assert [item["key"] for item in json.loads(reset.stdout)["breakers"]] == ["GB"]


def test_a_bad_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    refused = run([str(BIN), "fraud", "block", "country", "Italy"], sqlite_env(tmp_path), tmp_path)
    assert refused.returncode == 1
    assert json.loads(refused.stderr.splitlines()[-1])["code"] == "invalid_request"
