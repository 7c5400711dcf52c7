"""What a newcomer meets before any request: the package installs cleanly with its data, and the
Compose file needs the operator's own keys and a real provider."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

import otpservice
from otpservice.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_public_names() -> None:
    from otpservice.app import create_app
    from otpservice.settings import Settings

    assert otpservice.__version__ and otpservice.create_app is create_app and otpservice.Settings is Settings
    assert set(otpservice.__all__) >= {"create_app", "Settings", "__version__"}
    assert (Path(otpservice.__file__).parent / "py.typed").exists()


def test_the_wheel_builds_without_a_warning_and_holds_its_data(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: the build leaves its build/ folder there, not in the checkout
    for folder in ("alembic", "otpservice"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "alembic.ini"):
        shutil.copy(ROOT / name, source / name)
    # PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling: not ours.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    warnings = [
        line
        for line in (built.stdout + built.stderr).splitlines()
        if "warn" in line.lower() and "Location '" not in line
    ]  # pip's notes on local indexes
    assert warnings == []
    [wheel] = tmp_path.glob("otpservice-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "otpservice/py.typed",
        "otpservice/verify/templates/en.txt",
        "otpservice/verify/templates/call/en.txt",
        "otpservice/verify/templates/email/en.txt",
        "otpservice/_alembic/env.py",
        "otpservice/_alembic/script.py.mako",
        "otpservice/_alembic/versions/0001_initial.py",
    } <= names


def test_compose_needs_the_operators_keys_and_a_real_provider() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["x-otpservice-env"]
    for name in ("OTP_SECRET_KEY", "API_KEYS", "SERVICE_PROVIDER"):
        assert env[name].startswith(f"${{{name}:?"), name  # no default: compose stops naming it
    assert "console" not in str(env).lower()
    for service in ("migrate", "otpservice"):
        assert compose["services"][service]["env_file"] == [{"path": ".env", "required": True}]


def test_the_env_file_recipe_makes_fresh_keys_once(tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "production.md").read_text()
    recipe = guide.split("<!-- env-file -->", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert subprocess.run(["bash", "-ec", recipe], cwd=tmp_path, timeout=30).returncode == 0
    made = (tmp_path / ".env").read_text()
    values = dict(line.split("=", 1) for line in made.splitlines() if "=" in line and not line.startswith("#"))
    assert len(values["OTP_SECRET_KEY"]) >= 32 and len(values["API_KEYS"]) >= 24
    assert values["POSTGRES_PASSWORD"] and values["SERVICE_PROVIDER"] in ("twilio", "kaleyra", "vonage")
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0  # secrets: the owner's alone
    # It carries the production checklist's variables, and the service takes it as it is.
    assert len(values["WEBHOOK_SECRET"]) >= 24 and len(values["ADMIN_API_KEYS"]) >= 24
    assert (values["FRAUD_GUARD"], values["ALLOW_UNAUTHENTICATED"]) == ("enforce", "false")
    assert {"SMS_BUDGET_HOUR", "SMS_BUDGET_DAY", "SMS_BUDGET_COUNTRY_DAY", "SMS_BUDGET_COUNTRIES"} <= set(values)
    assert "# PUBLIC_BASE_URL=https://" in made and "# ALERT_WEBHOOK_URL=https://" in made
    settings = Settings(_env_file=tmp_path / ".env")  # type: ignore[call-arg]
    assert settings.fraud_guard == "enforce" and settings.api_keys and not settings.allow_unauthenticated
    # Made once: running the recipe again keeps the keys (pending codes stay checkable).
    subprocess.run(["bash", "-ec", recipe], cwd=tmp_path, timeout=30)
    assert (tmp_path / ".env").read_text() == made
