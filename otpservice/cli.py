"""Command line: otpservice serve | migrate | purge | send | check-config | services | fraud."""

import argparse
import asyncio
import json
import os
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

from otpservice import __version__
from otpservice.cli_operator import add_operator_commands, fraud_command, services_command
from otpservice.settings import DatabaseSettings, Settings, SettingsError, load_database_settings, load_settings

if TYPE_CHECKING:  # the app is imported only by the commands that serve it
    from starlette.applications import Starlette

# In-flight requests get this long to finish after SIGTERM before connections are cut.
GRACEFUL_SHUTDOWN_SECONDS = 20


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from otpservice.preflight import (
        prepare_or_explain,
        reach_database,
        reach_limit_storage,
        refuse_open_relay,
        workers_refusal,
    )
    from otpservice.provider_setup import check_credentials, check_senders, log_warnings
    from otpservice.verify.factory import check_verification_settings

    refusal = workers_refusal(settings, args.workers)
    if refusal:
        raise SettingsError(refusal)
    check_senders(settings)
    refuse_open_relay(settings)

    async def preflight() -> None:
        check_verification_settings(settings)
        await reach_database(settings, require_head=False)
        await reach_limit_storage(settings)
        log_warnings(await check_credentials(settings))  # refused credentials: SettingsError
        await prepare_or_explain(settings)

    # Fails in one line before uvicorn starts, instead of a lifespan traceback.
    asyncio.run(preflight())
    # In-flight requests wait at most for one provider call (PROVIDER_TIMEOUT): the process
    # is gone within PROVIDER_TIMEOUT + 2 s of SIGTERM.
    grace = min(GRACEFUL_SHUTDOWN_SECONDS, int(settings.provider_timeout) + 1)
    # proxy_headers off: X-Forwarded-For is read by the app alone, from TRUSTED_PROXIES only.
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "proxy_headers": False,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": grace,
    }
    if args.workers > 1:
        # Each worker reads the same environment; --host/--port were written into it above.
        uvicorn.run("otpservice.cli:app_from_environment", factory=True, workers=args.workers, **options)
        return 0
    from otpservice.app import create_app
    from otpservice.wiring import request_stop

    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # The outbox worker stops at the signal, not after the requests in flight.
            services = getattr(app.state, "services", None)
            if services is not None:
                request_stop(services)
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, **options)).run()
    return 0


def app_from_environment() -> "Starlette":
    """The app of one `serve --workers N` worker process."""
    from otpservice.app import create_app
    from otpservice.observability.logging import configure_logging, secret_values

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, secret_values(settings))
    return create_app(settings)


def _say_database(settings: DatabaseSettings) -> None:
    from otpservice.db.urls import database_location

    print(f"database: {database_location(settings.database_url)}", file=sys.stderr)


def _migrate(settings: DatabaseSettings) -> int:
    """Reads DATABASE_URL (and the log settings) alone: no provider, key or limit setting."""
    from otpservice.db.migrate import upgrade_to_head
    from otpservice.db.urls import database_location
    from otpservice.preflight import reach_database, reason

    _say_database(settings)
    asyncio.run(reach_database(settings, require_head=False))
    try:
        applied = upgrade_to_head(settings.database_url)
    except Exception as exc:
        raise SettingsError(
            f"DATABASE_URL: cannot migrate {database_location(settings.database_url)}: {reason(exc)}"
        ) from None
    for revision, message in applied:
        print(f"applied {revision}: {message}")
    print("database is at the latest migration" + ("" if applied else " (nothing to apply)"))
    return 0


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from otpservice.preflight import prepare_or_explain, sqlite_file
    from otpservice.verify.purge import purge

    _say_database(settings)
    path = sqlite_file(settings)
    if path is not None and not path.exists():
        # Run from the wrong folder, a relative path would make a new empty database here.
        raise SettingsError(f"DATABASE_URL: no database at {path}; nothing to purge")

    async def run() -> dict[str, int]:
        await prepare_or_explain(settings)
        return await purge(settings)

    print(json.dumps(asyncio.run(run()), sort_keys=True))
    return 0


def _send(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_send_one(settings, args.to, args.body, args.sender))


async def _send_one(settings: Settings, to: str, body: str, sender: str | None) -> int:
    from otpservice.api.errors import error_json
    from otpservice.clock import SystemClock, iso
    from otpservice.errors import OTPServiceError
    from otpservice.wiring import build_services, close_services

    services = await build_services(settings, SystemClock())
    try:
        result = await services.sms.send(to, body, sender)
    except OTPServiceError as exc:
        print(json.dumps(error_json(exc)), file=sys.stderr)
        return 1
    finally:
        await close_services(services)
    print(
        json.dumps(
            {
                "dateEvent": iso(result.sent_at),
                "numSegments": str(result.segments),
                "sid": result.sid,
                "status": result.status,
                "messageId": result.message_id,
            }
        )
    )
    return 0


def _check_config(settings: Settings, args: argparse.Namespace) -> int:
    from otpservice.preflight import check_config

    return check_config(settings)


COMMANDS = {
    "serve": _serve,
    "purge": _purge,
    "send": _send,
    "check-config": _check_config,
    "services": services_command,
    "fraud": fraud_command,
}


ENVIRONMENT = "Configured by environment variables (docs/configuration.md); `check-config` shows them."


def _command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", name: str, summary: str, description: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=f"{description}\n\n{ENVIRONMENT}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _workers(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError("must be a whole number >= 1")
    return int(value)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="otpservice", description="SMS sending and phone verification. " + ENVIRONMENT)
    root.add_argument("--version", action="version", version=f"otpservice {__version__}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = _command(
        commands,
        "serve",
        "run the HTTP service",
        "Run the HTTP service. On SQLite the database is brought to the latest migration first;\n"
        "on PostgreSQL it must be there already (`otpservice migrate`). The database and the\n"
        "limit storage are reached before listening: a failure is one line and exit code 2.",
    )
    serve.add_argument("--host", help="address to listen on (overrides HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (overrides PORT, default 3000)")
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="worker processes under one supervisor (default 1); more than one needs\n"
        "PostgreSQL, Redis limits (RATE_LIMIT_STORAGE_URL) and a real provider",
    )
    _command(
        commands,
        "migrate",
        "bring the database schema to the latest migration",
        "Bring the database (DATABASE_URL) to the latest Alembic migration. Works from any folder;\n"
        "prints the absolute database location.",
    )
    _command(
        commands,
        "purge",
        "delete old finished verifications and messages",
        "Delete verifications that are no longer pending, and messages, older than\n"
        "OTP_RETENTION_DAYS (default 30); prints the counts as JSON. Never creates a database:\n"
        "a SQLite file that does not exist is an error (a relative path is read from the current folder).",
    )
    send = _command(
        commands,
        "send",
        "send one SMS through the configured provider",
        "Send one SMS through SERVICE_PROVIDER, recorded like POST /send; prints the result as JSON.",
    )
    send.add_argument("--to", required=True, help="E.164 receiver, e.g. +393331234567")
    send.add_argument("--body", required=True, help="message text (1 to 1600 characters)")
    send.add_argument("--sender", default=None, help="sender (default: SMS_DEFAULT_SENDER)")
    _command(
        commands,
        "check-config",
        "validate the settings and reach the database and the limit storage",
        "Print the effective settings (secrets masked), the absolute database location, then connect\n"
        "to the database and the limit storage and say what was reached. Exit code 1 when anything\n"
        "is unreachable or invalid, 2 when a variable has a bad value.",
    )
    add_operator_commands(commands, _command)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "serve":
            # Written into the environment too, so that --workers' processes read the same.
            for name, value in (("HOST", args.host), ("PORT", args.port)):
                if value is not None:
                    os.environ[name] = str(value)
        from otpservice.observability.logging import configure_logging, secret_values, url_passwords

        if args.command == "migrate":
            database = load_database_settings()
            configure_logging(database.log_level, database.log_format, url_passwords(database.database_url))
            return _migrate(database)
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format, secret_values(settings))
        return COMMANDS[args.command](settings, args)
    except SettingsError as exc:
        print(f"otpservice: invalid configuration: {exc}", file=sys.stderr)
        return 2
