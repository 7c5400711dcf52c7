"""Enrol a real authenticator app (Google Authenticator, Aegis, 1Password, ...) with otpservice.

    OTPSERVICE_URL=http://127.0.0.1:3000 OTPSERVICE_API_KEY=... python examples/totp_enrol.py alice

1. creates a factor for the identity and writes its QR code to totp-qr.svg (open it in a
   browser and scan it with the app; the key is printed too, for typing it in instead);
2. asks for the code the app shows and verifies the factor with it;
3. asks for a later code and checks it, as a login would; then makes ten recovery codes.

Standard library only: copy it anywhere.
"""

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

OTPSERVICE_URL = os.environ.get("OTPSERVICE_URL", "http://127.0.0.1:3000")
OTPSERVICE_API_KEY = os.environ.get("OTPSERVICE_API_KEY", "")


def call(method: str, path: str, body: dict[str, str] | None = None) -> dict[str, object]:
    request = urllib.request.Request(
        OTPSERVICE_URL + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {OTPSERVICE_API_KEY}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, object] = json.load(response)
            return answer
    except urllib.error.HTTPError as error:
        answer = json.load(error)
        sys.exit(f"{method} {path}: {error.code} {answer.get('code')}: {answer.get('message')}")


def main(identity: str, qr_path: Path = Path("totp-qr.svg")) -> None:
    factor = call("POST", "/totp/factors", {"identity": identity, "label": identity, "issuer": "otpservice demo"})
    qr_path.write_text(str(factor["qrSvg"]))
    print(f"Scan {qr_path.resolve()} with your authenticator app (or type the key {factor['secret']}).")
    print("This is the only time the key is shown.")
    while True:
        verified = call("POST", f"/totp/factors/{factor['id']}/verify", {"code": input("Code from the app: ").strip()})
        if verified["status"] == "verified":
            break
        print("Not that one: try the code the app shows now.")
    print(f"Factor {factor['id']} is verified.")
    checked = call("POST", "/totp/check", {"identity": identity, "code": input("Wait for the next code: ").strip()})
    print(f"Login check: {checked['status']}")
    codes = call("POST", "/totp/recovery-codes", {"identity": identity})["codes"]
    print("Recovery codes (each works once, keep them safe):", *codes, sep="\n  ")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo-user")
