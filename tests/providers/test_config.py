"""Each provider is built from its own typed config, which shows no secret, and providers/
imports nothing above its layer (Settings included): the arrow of docs/architecture.md."""

import ast
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from otpservice.providers.base import OutgoingSms
from otpservice.providers.kaleyra import KaleyraConfig, KaleyraProvider
from otpservice.providers.twilio import TwilioConfig, TwilioProvider
from otpservice.providers.vonage import VonageConfig, VonageProvider
from tests.fakes import KaleyraFake, TwilioFake, VonageFake, kaleyra, twilio, vonage
from tests.fakes.fixtures import fake_kaleyra, fake_twilio, fake_vonage  # noqa: F401

PROVIDERS = Path(__file__).resolve().parents[2] / "otpservice" / "providers"
# What sits above providers/ (docs/architecture.md, "Arrows point one way"), and the package root that
# re-exports create_app and Settings.
HIGHER = (
    "otpservice.settings",
    "otpservice.provider_setup",
    "otpservice.wiring",
    "otpservice.app",
    "otpservice.cli",
    "otpservice.cli_operator",
    "otpservice.preflight",
    "otpservice.api",
    "otpservice.admin",
    "otpservice.verify",
    "otpservice.sms",
    "otpservice.delivery",
    "otpservice.fraud",
)


def imported(source: str, package: str) -> set[str]:
    """Every module a source imports, anywhere in it (function bodies too); relative
    imports resolved against `package`, `from a import b` counted as a and a.b."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def higher(names: set[str]) -> set[str]:
    bare_root = {name for name in names if name in ("otpservice", "otpservice.Settings", "otpservice.create_app")}
    return bare_root | {name for name in names for top in HIGHER if name == top or name.startswith(top + ".")}


def test_the_check_sees_every_form_of_import() -> None:
    source = "import otpservice.api.ops\nfrom otpservice import settings\ndef f():\n    from ..wiring import x\n"
    found = higher(imported(source, "otpservice.providers"))
    assert found >= {"otpservice.api.ops", "otpservice.settings", "otpservice.wiring"}
    assert not higher(imported("from otpservice.core.phone import mask_phone\nfrom .base import scrub\n", "p"))


@pytest.mark.parametrize("path", sorted(PROVIDERS.glob("*.py")), ids=lambda path: path.name)
def test_providers_import_nothing_above_their_layer(path: Path) -> None:
    assert higher(imported(path.read_text(), "otpservice.providers")) == set()


def test_configs_show_no_secret() -> None:
    configs = [
        TwilioConfig(
            account_sid="AC1", base_url="https://t", auth_token="tok-111", api_key_sid="SK1", api_key_secret="ks-222"
        ),
        KaleyraConfig(base_url="https://k", sid="HX1", api_key="key-333"),
        VonageConfig(base_url="https://v", api_key="a1", api_secret="sec-444"),
    ]
    shown = " ".join(f"{config!r} {config}" for config in configs)
    assert "AC1" in shown and "HX1" in shown
    for secret in ("tok-111", "ks-222", "key-333", "sec-444"):
        assert secret not in shown


def test_a_twilio_config_needs_credentials() -> None:
    with pytest.raises(ValueError, match="auth token or an API key"):
        TwilioConfig(account_sid="AC1", base_url="https://t", api_key_sid="SK1")


SMS = OutgoingSms(receiver="+14155552671", body="hello", sender="ACME")


async def test_twilio_is_built_from_its_config_alone(fake_twilio: TwilioFake) -> None:
    config = TwilioConfig(account_sid=twilio.ACCOUNT_SID, base_url=fake_twilio.base_url, auth_token=twilio.AUTH_TOKEN)
    async with httpx.AsyncClient(timeout=5) as client:
        provider = TwilioProvider(config, client)
        receipt = await provider.send(SMS)
        assert await provider.balance() == Decimal("10.00")
    assert receipt.sid is not None and fake_twilio.sends[0].form["To"] == SMS.receiver


async def test_kaleyra_is_built_from_its_config_alone(fake_kaleyra: KaleyraFake) -> None:
    config = KaleyraConfig(base_url=fake_kaleyra.base_url, sid=kaleyra.SID, api_key=kaleyra.API_KEY)
    async with httpx.AsyncClient(timeout=5) as client:
        provider = KaleyraProvider(config, client)
        receipt = await provider.send(SMS)
        assert await provider.balance() == Decimal("10.00")
    assert receipt.sid is not None and fake_kaleyra.sends[0].form["to"] == SMS.receiver


async def test_vonage_is_built_from_its_config_alone(fake_vonage: VonageFake) -> None:
    config = VonageConfig(base_url=fake_vonage.base_url, api_key=vonage.API_KEY, api_secret=vonage.API_SECRET)
    async with httpx.AsyncClient(timeout=5) as client:
        provider = VonageProvider(config, client)
        receipt = await provider.send(SMS)
        assert await provider.balance() == Decimal("10.00")
    assert receipt.sid is not None and fake_vonage.sends[0].form["to"] == SMS.receiver.lstrip("+")
