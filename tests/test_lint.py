"""The project's own habits (developers' guide): ruff (lint and format) and mypy --strict stay clean.

They run here, from the repository root with the venv's own binaries, so that the one test
command (`./scripts/test`, called by `.ci/run`) fails when either finds something. Their
settings live in pyproject.toml ([tool.ruff], [tool.mypy]).
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    tool = BIN / argv[0]
    if not tool.exists():
        pytest.fail(f"{tool} is missing: install the test extra (pip install -e '.[test]')")
    return subprocess.run([str(tool), *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "argv",
    [
        ("ruff", "check", "--no-cache", "."),
        ("ruff", "format", "--no-cache", "--check", "."),
    ],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff_is_clean(argv: tuple[str, ...]) -> None:
    result = _run(*argv)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}{result.stderr}"


def test_mypy_strict_is_clean() -> None:
    # Files, strictness and overrides come from [tool.mypy]; no cache is read or written, so
    # that parallel runs cannot share a stale one.
    result = _run("mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert result.returncode == 0, f"mypy:\n{result.stdout}{result.stderr}"
