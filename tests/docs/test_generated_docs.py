"""docs/configuration.md and docs/errors.md hold tables generated from the code
(`python -m otpservice.docs_tables`): they must be what the generator makes now, every setting
must say what it does, no secret is shown with a value, and README stays short, its links whole."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from pydantic import Field, SecretStr

from otpservice import docs_tables
from otpservice.api.openapi import error_codes
from otpservice.docs_tables import configuration_table, error_table, generated, main, render
from otpservice.settings import DatabaseSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_the_committed_docs_are_what_the_generator_makes() -> None:
    stale = [path.name for path, text in generated(DOCS).items() if path.read_text() != text]
    assert stale == [], f"run `.venv/bin/python -m otpservice.docs_tables`: {stale} are out of date"


def test_every_setting_says_what_it_does() -> None:
    for model in (DatabaseSettings, Settings):
        for name, field in model.model_fields.items():
            assert field.description and len(field.description.split()) >= 3, f"{name.upper()}: add a description="


def test_every_setting_and_every_code_is_in_the_docs() -> None:
    configuration = (DOCS / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"| `{name.upper()}` |" in configuration, name
    errors = (DOCS / "errors.md").read_text()
    for code in error_codes():
        assert f"| `{code}` |" in errors, code


def test_a_secret_is_never_shown_with_a_value() -> None:
    class WithSecretDefaults(Settings):
        extra_token: SecretStr = Field(SecretStr("hunter2-default"), description="A secret with a default.")
        extra_tokens: list[SecretStr] = Field([SecretStr("hunter3-default")], description="Secret list default.")

    table = configuration_table(WithSecretDefaults)
    assert "hunter2" not in table and "hunter3" not in table
    row = next(line for line in table.splitlines() if line.startswith("| `EXTRA_TOKEN` |"))
    assert row.split(" | ")[1:3] == ["(secret)", "secret"]
    for name, field in Settings.model_fields.items():
        if docs_tables.is_secret(field):
            assert f"| `{name.upper()}` | – |" in configuration_table(), name


def test_the_table_reads_defaults_and_bounds_off_the_fields() -> None:
    table = configuration_table()
    assert "| `OTP_CODE_LENGTH` | `6` | integer 4..10 |" in table
    assert "| `FRAUD_GUARD` | `shadow` | `off` \\| `shadow` \\| `enforce` |" in table
    assert "| `DB_TIMEOUT` | `3` | number > 0, <= 60 |" in table
    assert "| `OTP_MOBILE_ONLY` | `true` |" in table
    assert "| 503 | `database_unavailable` |" in error_table()


def test_a_stale_copy_is_found_and_rewritten(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    page = tmp_path / "docs" / "errors.md"
    page.write_text(page.read_text().replace("| 413 | `payload_too_large` |", "| 413 | `too_big` |"))
    assert main(["--check", "--docs", str(tmp_path / "docs")]) == 1
    assert "too_big" in page.read_text()  # --check changes nothing
    command = [sys.executable, "-m", "otpservice.docs_tables", "--docs", str(tmp_path / "docs")]
    assert subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    assert page.read_text() == (DOCS / "errors.md").read_text()
    assert main(["--check", "--docs", str(tmp_path / "docs")]) == 0


def test_render_replaces_only_between_its_markers() -> None:
    text = (
        "before\n<!-- BEGIN GENERATED X: python -m otpservice.docs_tables -->\nold\n<!-- END GENERATED X -->\nafter\n"
    )
    assert render(text, "X", "new") == text.replace("old", "new")


def test_the_readme_fits_a_screen_of_screens() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert "./scripts/run" in readme and "./scripts/test" in readme
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    headings = re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_relative_link_of_the_readme_and_docs_resolves() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists() or (anchor and path.suffix == ".md" and anchor not in _anchors(path)):
                broken.append(f"{page.name}: {target}")
    assert broken == []
