"""A client generated from /openapi.json by openapi-python-client, with no warning, drives a whole
start/check flow against the running service (a real process on a free port)."""

import importlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.test_cli import SECRETS
from tests.process import serve

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
API_KEY = "client-test-key-0123456789"
NUMBER = "+393331234567"
PACKAGE = "otpservice_client"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": SECRETS["OTP_SECRET_KEY"],
        "API_KEYS": API_KEY,
    }
    with serve(env, tmp_path / "service.log") as (base_url, _):
        yield base_url


@pytest.fixture
def client_package(service: str, tmp_path: Path) -> Iterator[Any]:
    document = tmp_path / "openapi.json"
    document.write_text(httpx.get(service + "/openapi.json").text)  # no key: the document is open
    config = tmp_path / "generator.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run: ruff is not a dependency
    generated = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(package: Any, name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def test_a_whole_verification_through_the_generated_client(service: str, client_package: Any) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    start = _api(client_package, "verify.start_verification")
    check = _api(client_package, "verify.check_verification")
    lookup = _api(client_package, "verify.get_verification")
    outbox = _api(client_package, "development.dev_outbox")
    client = client_package.AuthenticatedClient(base_url=service, token=API_KEY)

    refused = start.sync_detailed(
        client=client_package.Client(base_url=service), body=models.VerifyStartRequest(to=NUMBER)
    )
    assert refused.status_code == 401 and refused.parsed.code == models.ErrorCode.UNAUTHORIZED

    started = start.sync_detailed(client=client, body=models.VerifyStartRequest(to=NUMBER, locale="it-IT"))
    assert started.status_code == 201
    verification = started.parsed
    assert isinstance(verification, models.Verification)
    assert verification.status == models.VerificationStatus.PENDING and verification.locale == "it"
    assert int(started.headers["X-RateLimit-Remaining"]) >= 0

    body = outbox.sync(client=client).messages[0].body
    code = re.search(r"\b(\d{6})\b", body).group(1)  # type: ignore[union-attr]
    wrong = "000000" if code != "000000" else "111111"

    missed = check.sync(client=client, body=models.VerifyCheckRequest(id=verification.id, code=wrong))
    assert isinstance(missed, models.VerifyCheckResponse) and missed.valid is False
    approved = check.sync(client=client, body=models.VerifyCheckRequest(to=NUMBER, code=code))
    assert approved.valid is True and approved.status == models.VerifyCheckResponseStatus.APPROVED
    assert approved.check_attempts_left == verification.check_attempts_left - 2

    again = check.sync_detailed(client=client, body=models.VerifyCheckRequest(to=NUMBER, code=code))
    assert again.status_code == 404 and again.parsed.code == models.ErrorCode.VERIFICATION_NOT_FOUND
    detail = lookup.sync(verification.id, client=client)
    assert detail.status == models.VerificationDetailStatus.APPROVED and detail.approved_at is not None
