"""Codes are derived, never kept: key rotation, the development key file, and no leak anywhere."""

import hashlib
import logging
import stat
from pathlib import Path

import pytest

from otpservice.clock import FakeClock
from otpservice.settings import SettingsError
from otpservice.verify.codes import CodeBook, key_id_of
from otpservice.verify.keys import SECRET_FILE_NAME, resolve_secret_keys
from otpservice.wiring import startup_checks
from tests.conftest import POSTGRES_URL, make_settings, running_app
from tests.verify.helpers import check, last_code, sent_bodies, start, verification_rows, wrong_code

OLD_KEY, NEW_KEY = "old-key-0123456789abcdef0123456789", "new-key-0123456789abcdef0123456789"
VERIFICATION_ID, SALT = "VE" + "ab" * 16, "00112233445566778899aabbccddeeff"


def test_codes_are_derived_from_id_salt_and_key() -> None:
    book = CodeBook(NEW_KEY)
    code = book.code_for(VERIFICATION_ID, SALT, book.current_key_id, 6)
    assert code is not None and len(code) == 6 and code.isdigit()
    assert book.code_for(VERIFICATION_ID, SALT, book.current_key_id, 6) == code
    assert CodeBook(OLD_KEY).code_for(VERIFICATION_ID, SALT, key_id_of(OLD_KEY), 6) != code
    assert book.matches(VERIFICATION_ID, SALT, book.current_key_id, 6, code)
    assert not book.matches(VERIFICATION_ID, SALT, book.current_key_id, 6, wrong_code(code))
    assert not book.matches(VERIFICATION_ID, SALT, book.current_key_id, 6, code + "0")


@pytest.mark.parametrize("length", [4, 6, 8, 10])
def test_code_length(length: int) -> None:
    book = CodeBook(NEW_KEY)
    codes = {book.code_for(VERIFICATION_ID, f"{salt:032x}", book.current_key_id, length) for salt in range(200)}
    assert {len(code or "") for code in codes} == {length}
    assert len(codes) > 150  # the salt, not the id, makes each code


def test_previous_keys_still_derive_their_codes() -> None:
    old_code = CodeBook(OLD_KEY).code_for(VERIFICATION_ID, SALT, key_id_of(OLD_KEY), 6)
    rotated = CodeBook(NEW_KEY, [OLD_KEY])
    assert rotated.current_key_id == key_id_of(NEW_KEY)
    assert rotated.code_for(VERIFICATION_ID, SALT, key_id_of(OLD_KEY), 6) == old_code
    assert CodeBook(NEW_KEY).code_for(VERIFICATION_ID, SALT, key_id_of(OLD_KEY), 6) is None
    assert not CodeBook(NEW_KEY).matches(VERIFICATION_ID, SALT, key_id_of(OLD_KEY), 6, old_code or "")


async def test_a_code_issued_before_rotation_still_verifies(migrated_database_url: str, clock: FakeClock) -> None:
    async with running_app(make_settings(migrated_database_url, otp_secret_key=OLD_KEY), clock=clock) as client:
        started = (await start(client)).json()
        code = last_code(client)
    rotated = make_settings(migrated_database_url, otp_secret_key=NEW_KEY, otp_previous_secret_keys=OLD_KEY)
    async with running_app(rotated, clock=clock) as client:
        clock.advance(1)
        resent = await start(client)
        assert resent.json()["id"] == started["id"] and last_code(client) == code
        assert (await check(client, code)).json()["status"] == "approved"


async def test_a_verification_whose_key_is_gone_cannot_be_approved(
    migrated_database_url: str, clock: FakeClock
) -> None:
    async with running_app(make_settings(migrated_database_url, otp_secret_key=OLD_KEY), clock=clock) as client:
        started = (await start(client)).json()
        code = last_code(client)
    async with running_app(make_settings(migrated_database_url, otp_secret_key=NEW_KEY), clock=clock) as client:
        assert (await check(client, code)).json()["valid"] is False
        clock.advance(1)
        renewed = await start(client)  # the old one can no longer carry its code: a new one starts
        assert renewed.status_code == 201 and renewed.json()["id"] != started["id"]
        assert (await check(client, last_code(client))).json()["status"] == "approved"


async def test_console_on_sqlite_generates_a_key_file_once(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/data/otp.db", otp_secret_key=None)
    (tmp_path / "data").mkdir()
    with caplog.at_level(logging.WARNING):
        async with running_app(settings, clock=clock) as client:
            await start(client)
            code = last_code(client)
    key_file = tmp_path / "data" / SECRET_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32
    warnings = [r.getMessage() for r in caplog.records if r.name == "otpservice.verify.keys"]
    assert len(warnings) == 1 and "generated a development key" in warnings[0] and key not in warnings[0]
    async with running_app(settings, clock=clock) as client:
        assert key_file.read_text().strip() == key
        assert (await check(client, code)).json()["status"] == "approved"


async def test_the_key_is_required_everywhere_else(sqlite_url: str) -> None:
    twilio = make_settings(
        sqlite_url,
        otp_secret_key=None,
        service_provider="twilio",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token",
    )
    postgres = make_settings(POSTGRES_URL, otp_secret_key=None)
    for settings in (twilio, postgres):
        with pytest.raises(SettingsError, match=r"^OTP_SECRET_KEY: required"):
            await startup_checks(settings)
    assert not (Path(sqlite_url.split("///", 1)[1]).parent / SECRET_FILE_NAME).exists()


def test_an_empty_key_counts_as_missing(sqlite_url: str) -> None:
    with pytest.raises(SettingsError, match="OTP_SECRET_KEY"):
        resolve_secret_keys(
            make_settings(
                sqlite_url,
                otp_secret_key="",
                service_provider="twilio",
                twilio_account_sid="AC1",
                twilio_auth_token="token",
            )
        )


async def test_no_code_or_hash_in_responses_rows_or_logs(
    migrated_database_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(migrated_database_url)
    with caplog.at_level(logging.DEBUG):
        async with running_app(settings, clock=clock) as client:
            responses = [await start(client)]
            code = last_code(client)
            verification_id = responses[0].json()["id"]
            clock.advance(1)
            responses += [
                await start(client),
                await check(client, wrong_code(code)),
                await client.get(f"/verify/{verification_id}"),
                await check(client, code),
                await client.get(f"/verify/{verification_id}"),
            ]
            rows = await verification_rows(client)
            assert len(sent_bodies(client)) == 2
    secrets_of_the_code = {
        code,
        hashlib.sha256(code.encode()).hexdigest(),
        hashlib.sha256((verification_id + code).encode()).hexdigest(),
    }
    for response in responses:
        assert not any(secret in response.text for secret in secrets_of_the_code)
    stored = [str(value) for row in rows for value in row.values() if isinstance(value, (str, bytes))]
    assert not any(secret in value for secret in secrets_of_the_code for value in stored)
    # The console provider's own line is the one place a code may appear (its purpose).
    for record in caplog.records:
        if record.name != "otpservice.providers.console":
            logged = record.getMessage() + " " + " ".join(str(value) for value in record.__dict__.values())
            assert code not in logged, record.name


async def test_short_codes_work_with_a_warning(
    migrated_database_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with running_app(make_settings(migrated_database_url, otp_code_length=4), clock=clock) as client:
            await start(client)
            code = last_code(client)
            assert len(code) == 4
            assert (await check(client, code)).json()["status"] == "approved"
    assert any("OTP_CODE_LENGTH=4" in record.getMessage() for record in caplog.records)
