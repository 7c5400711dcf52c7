"""SPEC 19, safe by default, over real `otpservice` processes: no codes to the network, no open
relay, the provider's sender and credentials checked before traffic, `/-/ready` saying what the
provider last said of our credentials."""

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otpservice.clock import FakeClock
from tests.conftest import AppFactory, read_outbox
from tests.fakes import FakeProvider, TwilioFake, start_fake
from tests.fakes.fixtures import ProviderApp, provider_app  # noqa: F401
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, error_reply
from tests.ops.test_cli import BIN, SECRETS, run
from tests.ops.test_cli_startup import assert_one_line
from tests.process import free_port, serve

KEY = {"OTP_SECRET_KEY": SECRETS["OTP_SECRET_KEY"]}
NUMBER = "+393331234567"
DOWN = error_reply(20500)


def network_address() -> str | None:
    """This machine's first non-loopback IPv4 address (`hostname -I`), None when it has none."""
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return next((address for address in found if "." in address and not address.startswith("127.")), None)


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otp.db", **KEY}


@pytest.fixture
def fake_twilio() -> Iterator[TwilioFake]:
    with start_fake("twilio") as (_, fake):
        assert isinstance(fake, TwilioFake)
        yield fake


# --- no codes to the network ------------------------------------------------------------------


def test_the_images_defaults_show_no_code_to_a_network_peer(tmp_path: Path) -> None:
    """HOST=0.0.0.0 and the console provider (the Docker image's defaults): /dev/outbox answers a
    peer on 127.0.0.1, and 404 to the same request from the machine's network address."""
    address = network_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address (hostname -I) to connect from")
    port = free_port()
    env = {**sqlite_env(tmp_path), "HOST": "0.0.0.0"}
    with serve(env, tmp_path / "service.log", args=["--port", str(port)]) as (local, _):
        remote = f"http://{address}:{port}"
        # The network peer is served (its start is sent), but the outbox stays closed to it.
        started = httpx.post(remote + "/verify/start", json={"to": NUMBER}, timeout=10)
        assert started.status_code == 201, started.text
        from_network = httpx.get(remote + "/dev/outbox", timeout=10)
        assert from_network.status_code == 404 and from_network.json()["code"] == "not_found"
        assert "messages" not in from_network.text
        from_loopback = httpx.get(local + "/dev/outbox", timeout=10)
        assert from_loopback.status_code == 200
        [message] = from_loopback.json()["messages"]
        assert message["to"] == NUMBER


async def test_a_network_peer_gets_404_from_the_outbox_even_with_a_key(app_client: AppFactory) -> None:
    async with app_client(api_keys="outbox-key-0123456789") as client:  # its peer is 203.0.113.7
        auth = {"Authorization": "Bearer outbox-key-0123456789"}
        sent = await client.post("/send", json={"receiver": NUMBER, "body": "hi"}, headers=auth)
        assert sent.status_code == 200
        outbox = await client.get("/dev/outbox", headers=auth)
        assert outbox.status_code == 404 and outbox.json()["code"] == "not_found"
        assert len((await read_outbox(client, headers=auth)).json()["messages"]) == 1


# --- no open relay ----------------------------------------------------------------------------


def relay_env(tmp_path: Path, fake: FakeProvider, **extra: str) -> dict[str, str]:
    return {**sqlite_env(tmp_path), **fake.environment(), "HOST": "0.0.0.0", **extra}


def test_a_real_provider_on_the_network_without_api_keys_refuses_to_start(
    tmp_path: Path, fake_twilio: TwilioFake
) -> None:
    result = run([str(BIN), "serve"], relay_env(tmp_path, fake_twilio), tmp_path)
    assert result.returncode == 2
    assert_one_line(result.stderr, "API_KEYS")
    assert fake_twilio.requests == []  # refused before anything was asked


def test_allow_unauthenticated_starts_it_with_a_warning_every_time(tmp_path: Path, fake_twilio: TwilioFake) -> None:
    env = relay_env(tmp_path, fake_twilio, ALLOW_UNAUTHENTICATED="true")
    log = tmp_path / "service.log"
    for _ in range(2):
        with serve(env, log) as (base_url, _):
            assert httpx.get(base_url + "/-/healthz").status_code == 200
    warnings = [line for line in log.read_text().splitlines() if "ALLOW_UNAUTHENTICATED" in line]
    assert len(warnings) == 2, log.read_text()
    assert all(json.loads(line)["level"] == "warning" for line in warnings)


@pytest.mark.parametrize(
    "extra",
    [{"HOST": "127.0.0.1"}, {"API_KEYS": SECRETS["API_KEYS"]}, {"SERVICE_PROVIDER": "console"}],
    ids=["loopback", "api-keys", "console"],
)
def test_loopback_keys_or_the_console_provider_start_as_before(
    tmp_path: Path, fake_twilio: TwilioFake, extra: dict[str, str]
) -> None:
    with serve(relay_env(tmp_path, fake_twilio, **extra), tmp_path / "service.log") as (base_url, _):
        assert httpx.get(base_url + "/-/healthz").status_code == 200


# --- configuration checked before traffic -----------------------------------------------------


@pytest.mark.parametrize("provider", ["twilio", "vonage", "kaleyra"])
def test_a_provider_without_a_sender_is_a_start_up_error(tmp_path: Path, provider: str) -> None:
    with start_fake(provider) as (_, fake):
        env = {**sqlite_env(tmp_path), **fake.environment()}
        del env["SMS_DEFAULT_SENDER"]
        for command in ("serve", "check-config"):
            result = run([str(BIN), command], env, tmp_path)
            assert result.returncode != 0, result.stderr
            assert "SMS_DEFAULT_SENDER" in result.stderr and "Traceback" not in result.stderr
        assert_one_line(run([str(BIN), "serve"], env, tmp_path).stderr, "SMS_DEFAULT_SENDER")


def test_a_twilio_messaging_service_is_a_sender(tmp_path: Path, fake_twilio: TwilioFake) -> None:
    env = {**sqlite_env(tmp_path), **fake_twilio.environment(), "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32}
    del env["SMS_DEFAULT_SENDER"]
    result = run([str(BIN), "check-config"], env, tmp_path)
    assert result.returncode == 0, result.stderr


WRONG_CREDENTIALS = {
    "twilio": ({"TWILIO_AUTH_TOKEN": "not-the-token"}, ["TWILIO_AUTH_TOKEN", "20003"]),
    "vonage": ({"VONAGE_API_SECRET": "not-the-secret"}, ["VONAGE_API_SECRET", "401"]),
    "kaleyra": ({"KALEYRA_API_KEY": "not-the-key"}, ["KALEYRA_API_KEY", "E401"]),
}


@pytest.mark.parametrize("provider", sorted(WRONG_CREDENTIALS))
def test_check_config_asks_the_balance_once_and_exits_2_on_refused_credentials(tmp_path: Path, provider: str) -> None:
    wrong, named = WRONG_CREDENTIALS[provider]
    with start_fake(provider) as (_, fake):
        env = {**sqlite_env(tmp_path), **fake.environment()}
        accepted = run([str(BIN), "check-config"], env, tmp_path)
        assert accepted.returncode == 0, accepted.stderr
        assert "configuration is valid" in accepted.stderr
        assert len(fake.balance_reads) == 1 and fake.sends == []
        fake.reset()
        refused = run([str(BIN), "check-config"], {**env, **wrong}, tmp_path)
        assert len(fake.balance_reads) == 1 and fake.sends == []
        secret = next(iter(wrong.values()))
    assert refused.returncode == 2, refused.stderr
    [line] = [line for line in refused.stderr.splitlines() if "refused" in line]
    assert all(name in line for name in named), line
    assert secret not in refused.stderr + refused.stdout
    assert "configuration is valid" not in refused.stderr


@pytest.mark.parametrize("answer", ["unreachable", "server-error"])
def test_an_unreachable_or_failing_provider_is_only_a_warning(
    tmp_path: Path, fake_twilio: TwilioFake, answer: str
) -> None:
    env = {**sqlite_env(tmp_path), **fake_twilio.environment()}
    if answer == "unreachable":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            env["TWILIO_BASE_URL"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    else:
        fake_twilio.push(DOWN, kind="balance")
    result = run([str(BIN), "check-config"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: twilio: could not confirm the credentials" in result.stderr


def test_serve_refuses_refused_credentials_in_one_line(tmp_path: Path, fake_twilio: TwilioFake) -> None:
    env = {**sqlite_env(tmp_path), **fake_twilio.environment(), "TWILIO_AUTH_TOKEN": "not-the-token"}
    result = run([str(BIN), "serve"], env, tmp_path)
    assert result.returncode == 2
    assert_one_line(result.stderr, "TWILIO_AUTH_TOKEN")
    assert "20003" in result.stderr and len(fake_twilio.balance_reads) == 1


def test_serve_starts_on_an_unreachable_provider_and_ready_says_unknown(tmp_path: Path) -> None:
    with start_fake("twilio") as (_, fake):
        env = {**sqlite_env(tmp_path), **fake.environment()}
    # The fake is gone: nothing listens at TWILIO_BASE_URL any more.
    with serve(env, tmp_path / "service.log") as (base_url, _):
        ready = httpx.get(base_url + "/-/ready", timeout=10)
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "provider": "unknown"}
    assert "could not confirm the credentials" in (tmp_path / "service.log").read_text()


def test_ready_follows_the_providers_last_word_on_our_credentials(tmp_path: Path, fake_twilio: TwilioFake) -> None:
    env = {**sqlite_env(tmp_path), **fake_twilio.environment(), "SMS_QUEUE_ENABLED": "false"}
    with serve(env, tmp_path / "service.log") as (base_url, _):
        ready = httpx.get(base_url + "/-/ready", timeout=10)
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "provider": "ok"}
        fake_twilio.valid_logins = set()  # the account's token was revoked after start-up
        sent = httpx.post(base_url + "/send", json={"receiver": NUMBER, "body": "hello"}, timeout=10)
        assert sent.status_code == 502, sent.text
        refused = httpx.get(base_url + "/-/ready", timeout=10)
        assert refused.status_code == 503
        assert refused.json()["code"] == "not_ready" and refused.json()["provider"] == "refused"


# --- migrate needs only DATABASE_URL ----------------------------------------------------------


@pytest.mark.postgres
async def test_migrate_reads_only_database_url_and_lists_what_it_applied(
    tmp_path: Path, postgres_database: str
) -> None:
    from otpservice.db.migrate import head_revisions
    from tests.conftest import reset_postgres

    await reset_postgres(postgres_database)
    # Settings migrate must not read: a bad provider, a bad limit, a short key, console on PostgreSQL.
    unread = {"SERVICE_PROVIDER": "carrier-pigeon", "RATE_LIMIT_MAX_REQUESTS": "0", "OTP_SECRET_KEY": "short"}
    env = {"DATABASE_URL": postgres_database, **unread}
    first = run([str(BIN), "migrate"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    applied = [line.split()[1].rstrip(":") for line in first.stdout.splitlines() if line.startswith("applied ")]
    assert "0001" in applied and head_revisions(postgres_database) <= set(applied)
    again = run([str(BIN), "migrate"], env, tmp_path)
    assert again.returncode == 0 and "applied" not in again.stdout.replace("nothing to apply", "")


# --- errors name what the caller sent ---------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SERVICE_PROVIDER": "vonage", "VONAGE_API_SECRET": "s"}, "VONAGE_API_KEY"),
        ({"SERVICE_PROVIDER": "kaleyra", "KALEYRA_SID": "HX1"}, "KALEYRA_API_KEY"),
        (
            {"SERVICE_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_API_KEY_SID": "SK1"},
            "TWILIO_API_KEY_SECRET",
        ),
        (
            {
                "SERVICE_PROVIDER": "twilio",
                "TWILIO_ACCOUNT_SID": "AC1",
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_API_KEY_SECRET": "s",
            },
            "TWILIO_API_KEY_SID",
        ),
        ({"SMS_BUDGET_COUNTRIES": "GB=5"}, "SMS_BUDGET_COUNTRIES: expected CC:N,CC:N"),
        ({"SMS_BUDGET_COUNTRIES": "GB:5,IN"}, "e.g. GB:2000,IN:500"),
    ],
)
def test_a_half_set_pair_or_a_malformed_value_names_what_is_wrong(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = run([str(BIN), "serve"], {**sqlite_env(tmp_path), **env}, tmp_path)
    assert result.returncode == 2
    assert_one_line(result.stderr, named)


def test_service_provider_is_case_insensitive(tmp_path: Path, fake_twilio: TwilioFake) -> None:
    env = {**sqlite_env(tmp_path), **fake_twilio.environment(), "SERVICE_PROVIDER": " Twilio"}
    result = run([str(BIN), "check-config"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "SERVICE_PROVIDER=twilio" in result.stdout.splitlines()


def test_messaging_sms_names_to_and_from_and_the_schema_says_what_is_enforced(tmp_path: Path) -> None:
    with serve(sqlite_env(tmp_path), tmp_path / "service.log") as (base_url, _):
        for sent, words in (
            ({"to": "12345", "body": "hi"}, "to must be a valid E.164"),
            ({"to": NUMBER, "body": "hi", "from": "not a sender!"}, "from must be an E.164 number"),
            ({"to": "", "body": "hi"}, "body.to:"),
        ):
            answer = httpx.post(base_url + "/messaging/sms", json=sent, timeout=10)
            assert answer.status_code == 400 and answer.json()["message"].startswith(words), answer.text
            assert "receiver" not in answer.text and "sender" not in answer.text
        empty = httpx.post(base_url + "/send", json={"receiver": "", "body": "hi"}, timeout=10)
        assert empty.status_code == 400 and "receiver" in empty.json()["message"]
        schemas = httpx.get(base_url + "/openapi.json", timeout=10).json()["components"]["schemas"]
    assert schemas["FluxKitSmsRequest"]["properties"]["to"]["minLength"] == 1
    assert schemas["SendRequest"]["properties"]["receiver"]["minLength"] == 1
    assert schemas["VerifyStartRequest"]["properties"]["to"]["minLength"] == 1


async def test_ready_asks_again_while_refused_and_recovers_without_a_restart(
    fake_twilio: TwilioFake, provider_app: ProviderApp, clock: FakeClock
) -> None:
    fake_twilio.valid_logins = set()
    async with provider_app(fake_twilio) as client:
        refused = await client.get("/-/ready")
        assert refused.status_code == 503 and refused.json()["provider"] == "refused"
        assert len(fake_twilio.balance_reads) == 1
        await client.get("/-/ready")
        assert len(fake_twilio.balance_reads) == 1  # at most one balance call per 30 s
        fake_twilio.reset()
        fake_twilio.valid_logins = {(ACCOUNT_SID, AUTH_TOKEN)}  # the operator fixed the account
        clock.advance(31)
        ready = await client.get("/-/ready")
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "provider": "ok"}
        await client.get("/-/ready")
        assert len(fake_twilio.balance_reads) == 1  # ok: nothing more to ask
