"""Command line: otpservice serve | migrate | purge | send | check-config | fraud."""

import argparse
import asyncio
import json
import sys
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from otpservice.settings import Settings, SettingsError, load_settings

MASK = "********"
# In-flight requests get this long to finish after SIGTERM before connections are cut.
GRACEFUL_SHUTDOWN_SECONDS = 20


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from otpservice.app import create_app
    from otpservice.wiring import startup_checks

    # Fails in one line before uvicorn starts, instead of a lifespan traceback.
    asyncio.run(startup_checks(settings))
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                access_log=False, server_header=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from otpservice.db.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)
    print("database is at the latest migration")
    return 0


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from otpservice.verify.purge import purge
    from otpservice.wiring import prepare_database

    async def run() -> dict[str, int]:
        await prepare_database(settings)
        return await purge(settings)

    print(json.dumps(asyncio.run(run()), sort_keys=True))
    return 0


def _send(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_send_one(settings, args.to, args.body, args.sender))


async def _send_one(settings: Settings, to: str, body: str, sender: str | None) -> int:
    from otpservice.clock import SystemClock, iso
    from otpservice.errors import OTPServiceError
    from otpservice.wiring import build_services, close_services

    services = await build_services(settings, SystemClock())
    try:
        result = await services.sms.send(to, body, sender)
    except OTPServiceError as exc:
        print(json.dumps(exc.body()), file=sys.stderr)
        return 1
    finally:
        await close_services(services)
    print(json.dumps({"dateEvent": iso(result.sent_at), "numSegments": str(result.segments),
                      "sid": result.sid, "status": result.status, "messageId": result.message_id}))
    return 0


def masked_settings(settings: Settings) -> dict[str, str]:
    """NAME -> value as an operator would write it, with every secret shown as MASK."""
    shown: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            text = MASK
        elif isinstance(value, list):
            text = ",".join(MASK if isinstance(item, SecretStr) else str(item) for item in value)
        elif value is None:
            text = ""
        elif isinstance(value, bool):
            text = str(value).lower()
        else:
            text = _mask_url_password(str(value))
        shown[name.upper()] = text
    return shown


def _mask_url_password(value: str) -> str:
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if not password:
        return value
    netloc = parts.netloc.replace(f":{password}@", f":{MASK}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _check_config(settings: Settings, args: argparse.Namespace) -> int:
    from otpservice.verify.factory import check_verification_settings

    check_verification_settings(settings)
    for name, value in sorted(masked_settings(settings).items()):
        print(f"{name}={value}")
    print("configuration is valid", file=sys.stderr)
    return 0


def _fraud(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_fraud_command(settings, args))


async def _fraud_command(settings: Settings, args: argparse.Namespace) -> int:
    from otpservice.clock import SystemClock
    from otpservice.db.engine import make_engine, make_sessionmaker
    from otpservice.errors import OTPServiceError
    from otpservice.fraud.factory import build_fraud
    from otpservice.fraud.operator import Override
    from otpservice.wiring import prepare_database

    await prepare_database(settings)
    engine = make_engine(settings.database_url)
    try:
        _, operator = build_fraud(settings, make_sessionmaker(engine), engine.dialect.name, SystemClock())
        if args.fraud_command != "list":
            await operator.apply(args.scope, args.key, Override(args.fraud_command, getattr(args, "ttl", None),
                                                                args.note), actor="cli")
        print(json.dumps({"breakers": await operator.list()}, indent=2))
    except OTPServiceError as exc:
        print(json.dumps(exc.body()), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


COMMANDS = {"serve": _serve, "migrate": _migrate, "purge": _purge, "send": _send, "check-config": _check_config,
            "fraud": _fraud}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="otpservice", description="SMS sending and phone verification. "
                                   "Configured by environment variables (see `check-config`).")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="run the HTTP service (HOST, PORT)")
    commands.add_parser("migrate", help="bring the database schema to the latest migration")
    commands.add_parser("purge", help="delete finished verifications and messages older than OTP_RETENTION_DAYS")
    send = commands.add_parser("send", help="send one SMS through the configured provider")
    send.add_argument("--to", required=True, help="E.164 receiver")
    send.add_argument("--body", required=True, help="message text")
    send.add_argument("--sender", default=None, help="sender (default: SMS_DEFAULT_SENDER)")
    commands.add_parser("check-config", help="validate the environment and print the effective settings")
    fraud = commands.add_parser("fraud", help="list the SMS-pumping breakers; reset, block or allow one")
    actions = fraud.add_subparsers(dest="fraud_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="breakers that are not closed")
    for action, text in (("reset", "close a breaker and discard its counts; lift an override"),
                         ("block", "refuse starts under a key (every mode but off)"),
                         ("allow", "never refuse starts under a key")):
        one = actions.add_parser(action, help=text)
        one.add_argument("scope", choices=["prefix", "country"])
        one.add_argument("key", help="'+' and digits (prefix) or ISO alpha-2 (country)")
        if action != "reset":
            one.add_argument("--ttl", type=int, default=None, help="seconds (default: until reset)")
        one.add_argument("--note", default=None, help="why (shown in the list and the log)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        from otpservice.observability.logging import configure_logging, secret_values

        configure_logging(settings.log_level, settings.log_format, secret_values(settings))
        return COMMANDS[args.command](settings, args)
    except SettingsError as exc:
        print(f"otpservice: invalid configuration: {exc}", file=sys.stderr)
        return 2
