"""Run `otpservice serve` as a real process on a free port, for restart and replica tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "otpservice"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    env: dict[str, str], log_path: Path, args: list[str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start the service with `env` (on top of PATH), wait for /-/healthz, stop it at the end.
    With `args` (`serve`'s options), --port in them is where it listens."""
    args = args or []
    port = int(args[args.index("--port") + 1]) if "--port" in args else free_port()
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        **env,
    }
    with open(log_path, "ab") as log:
        process = subprocess.Popen([str(BIN), "serve", *args], env=full_env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process, log_path)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited at start-up:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(base_url + "/-/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service did not come up in 30 s")
