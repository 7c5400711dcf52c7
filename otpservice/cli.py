"""Command line: otpservice serve | migrate | check-config."""

import argparse
import asyncio
import sys

from otpservice.settings import Settings, SettingsError, load_settings


def _serve(settings: Settings) -> int:
    import uvicorn

    from otpservice.app import create_app
    from otpservice.wiring import startup_checks

    asyncio.run(startup_checks(settings))
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_config=None, access_log=False, timeout_graceful_shutdown=20)
    return 0


def _migrate(settings: Settings) -> int:
    from otpservice.db.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)
    print("database is at the latest migration")
    return 0


def _check_config(settings: Settings) -> int:
    for name, value in sorted(settings.model_dump().items()):
        print(f"{name.upper()}={value}")
    return 0


COMMANDS = {"serve": _serve, "migrate": _migrate, "check-config": _check_config}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="otpservice", description="SMS sending and phone verification")
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        from otpservice.observability.logging import configure_logging

        configure_logging(settings.log_level, settings.log_format)
        return COMMANDS[args.command](settings)
    except SettingsError as exc:
        print(f"otpservice: invalid configuration: {exc}", file=sys.stderr)
        return 2
