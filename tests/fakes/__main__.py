"""Run one fake provider in the foreground, accepting everything fast (for the benchmark):

    python -m tests.fakes twilio --port 8901

It prints the environment variables that point otpservice at it.
"""

import argparse
import threading

from tests.fakes import FAKES


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes")
    parser.add_argument("provider", choices=sorted(FAKES))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    fake = FAKES[args.provider](record=False)
    fake.start(args.port)
    for name, value in fake.settings().items():
        print(f"{name.upper()}={value}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
