"""examples/totp_enrol.py (docs/totp.md's example) against a real process: the QR file is
written, the printed key makes the codes the example asks for, the factor ends verified."""

import subprocess
import sys
import time
from pathlib import Path

import pyotp

from tests.process import serve
from tests.totp.conftest import API_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_enrols_verifies_and_checks(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/otp.db", "OTP_SECRET_KEY": SECRET_KEY, "API_KEYS": API_KEY}
    with serve(env, tmp_path / "service.log") as (url, _):
        example = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "totp_enrol.py"), "alice-01"],
            cwd=tmp_path,
            env={"OTPSERVICE_URL": url, "OTPSERVICE_API_KEY": API_KEY, "PATH": ""},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert example.stdout is not None and example.stdin is not None
        first = example.stdout.readline()
        secret = first.rsplit("type the key ", 1)[1].rstrip(").\n")
        totp = pyotp.TOTP(secret)
        example.stdin.write(totp.at(time.time()) + "\n" + totp.at(time.time() + 30) + "\n")
        example.stdin.close()
        output = first + example.stdout.read()
        assert example.wait(30) == 0, output
    qr = (tmp_path / "totp-qr.svg").read_text()
    assert qr.startswith("<svg xmlns=")
    assert "is verified" in output and "Login check: approved" in output
    assert output.count("\n  ") == 10  # the recovery codes
