"""Command line: otpservice serve | migrate | purge | send | check-config | services."""

import argparse
import asyncio
import json
import re
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
    # proxy_headers off: X-Forwarded-For is read by the app alone, from TRUSTED_PROXIES only.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, proxy_headers=False,
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


SERVICE_SID = re.compile(r"VA[0-9a-fA-F]{32}")


def _services(settings: Settings, args: argparse.Namespace) -> int:
    """Services of the Twilio-compatible API: `create` one under an app's own SID, or `list` them."""
    if args.action == "create":
        if not SERVICE_SID.fullmatch(args.sid):
            print("otpservice: --sid must be VA followed by 32 hex digits", file=sys.stderr)
            return 2
        if not 1 <= len(args.friendly_name) <= 32 or not args.friendly_name.isprintable():
            print("otpservice: --friendly-name must be 1 to 32 printable characters", file=sys.stderr)
            return 2
    return asyncio.run(_run_services(settings, args))


async def _run_services(settings: Settings, args: argparse.Namespace) -> int:
    from otpservice.clock import SystemClock, iso, to_datetime
    from otpservice.db.engine import make_engine, make_sessionmaker
    from otpservice.db.services import ServiceStore
    from otpservice.wiring import prepare_database

    await prepare_database(settings)
    engine = make_engine(settings.database_url)
    try:
        store = ServiceStore(make_sessionmaker(engine))
        if args.action == "create":
            length = args.code_length or settings.otp_code_length
            created = await store.create(args.sid, args.friendly_name, length, to_datetime(SystemClock().now()))
            if created is None:
                print(f"otpservice: a service {args.sid} exists already", file=sys.stderr)
                return 1
            found = [created]
        else:
            found = await store.list_all()
    finally:
        await engine.dispose()
    for service in found:
        print(json.dumps({"sid": service.sid, "friendlyName": service.friendly_name,
                          "codeLength": service.code_length, "createdAt": iso(service.created_at.timestamp())}))
    return 0


COMMANDS = {"serve": _serve, "migrate": _migrate, "purge": _purge, "send": _send, "check-config": _check_config,
            "services": _services}


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
    services = commands.add_parser("services", help="services of the Twilio Verify compatible API (/v2)")
    actions = services.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a service under a given SID (keep TWILIO_VERIFY_SERVICE_SID)")
    create.add_argument("--sid", required=True, help="VA followed by 32 hex digits")
    create.add_argument("--friendly-name", required=True, help="the app name in its messages (1-32 characters)")
    create.add_argument("--code-length", type=int, choices=range(4, 11), metavar="4..10", default=None,
                        help="digits of its codes (default: OTP_CODE_LENGTH)")
    actions.add_parser("list", help="print every service, one JSON object a line")
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
