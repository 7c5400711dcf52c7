"""Operator commands: the Twilio-compatible API's services, and the SMS-pumping breakers."""

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable

from otpservice.settings import Settings

SERVICE_SID = re.compile(r"VA[0-9a-fA-F]{32}")


def services_command(settings: Settings, args: argparse.Namespace) -> int:
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
        print(
            json.dumps(
                {
                    "sid": service.sid,
                    "friendlyName": service.friendly_name,
                    "codeLength": service.code_length,
                    "createdAt": iso(service.created_at.timestamp()),
                }
            )
        )
    return 0


def fraud_command(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_fraud_command(settings, args))


async def _fraud_command(settings: Settings, args: argparse.Namespace) -> int:
    from otpservice.api.errors import error_json
    from otpservice.clock import SystemClock
    from otpservice.db.engine import make_engine, make_sessionmaker
    from otpservice.errors import OTPServiceError
    from otpservice.fraud.operator import Override
    from otpservice.fraud_setup import build_fraud
    from otpservice.wiring import prepare_database

    await prepare_database(settings)
    engine = make_engine(settings.database_url)
    try:
        _, operator = build_fraud(settings, make_sessionmaker(engine), engine.dialect.name, SystemClock())
        if args.fraud_command != "list":
            await operator.apply(
                args.scope, args.key, Override(args.fraud_command, getattr(args, "ttl", None), args.note), actor="cli"
            )
        print(json.dumps({"breakers": await operator.list()}, indent=2))
    except OTPServiceError as exc:
        print(json.dumps(error_json(exc)), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


Describe = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]", str, str, str], argparse.ArgumentParser]


def add_operator_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]", command: Describe) -> None:
    """`services create|list` and `fraud list|reset|block|allow`, with their help."""
    services = command(
        commands,
        "services",
        "services of the Twilio Verify compatible API (/v2)",
        "Create or list the Services of the Twilio Verify compatible API. An app moving from\n"
        "Twilio keeps its TWILIO_VERIFY_SERVICE_SID: create a service under that very SID.",
    )
    actions = services.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a service under a given SID (keep TWILIO_VERIFY_SERVICE_SID)")
    create.add_argument("--sid", required=True, help="VA followed by 32 hex digits")
    create.add_argument("--friendly-name", required=True, help="the app name in its messages (1-32 characters)")
    create.add_argument(
        "--code-length",
        type=int,
        choices=range(4, 11),
        metavar="4..10",
        default=None,
        help="digits of its codes (default: OTP_CODE_LENGTH)",
    )
    actions.add_parser("list", help="print every service, one JSON object a line")
    fraud = command(
        commands,
        "fraud",
        "list the SMS-pumping breakers; reset, block or allow one",
        "List the breakers that are not closed, or override one: reset (close it, discard its\n"
        "counts, lift an override), block (refuse starts under it) or allow (never refuse).",
    )
    actions = fraud.add_subparsers(dest="fraud_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="breakers that are not closed")
    for action, text in (
        ("reset", "close a breaker and discard its counts; lift an override"),
        ("block", "refuse starts under a key (every mode but off)"),
        ("allow", "never refuse starts under a key"),
    ):
        one = actions.add_parser(action, help=text)
        one.add_argument("scope", choices=["prefix", "country"])
        one.add_argument("key", help="'+' and digits (prefix) or ISO alpha-2 (country)")
        if action != "reset":
            one.add_argument("--ttl", type=int, default=None, help="seconds (default: until reset)")
        one.add_argument("--note", default=None, help="why (shown in the list and the log)")
