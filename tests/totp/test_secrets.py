"""No factor secret (nor URI, nor recovery code) reaches the logs, an answer after enrolment,
or the database in clear: over a real process, on SQLite and PostgreSQL."""

import asyncio
import base64
from pathlib import Path

from sqlalchemy import text

from otpservice.db.engine import make_engine
from tests.totp.conftest import ServedFactory, next_code, now_code

TABLES = ("totp_entities", "totp_factors", "totp_challenges", "totp_recovery_codes")


async def stored_values(database_url: str) -> list[object]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = [row for table in TABLES for row in (await connection.execute(text(f"SELECT * FROM {table}")))]
    finally:
        await engine.dispose()
    return [value for row in rows for value in row]


def forms_of(secret: str) -> list[bytes]:
    raw = base64.b32decode(secret)
    return [secret.encode(), secret.lower().encode(), raw, raw.hex().encode()]


def test_the_secret_is_shown_once_and_kept_nowhere_in_clear(served: ServedFactory) -> None:
    with served() as app, app.client as client:
        created = client.post("/totp/factors", json={"identity": "user-1234", "label": "alice"}).json()
        secret, factor_id = created["secret"], created["id"]
        answers = [
            client.post(f"/totp/factors/{factor_id}/verify", json={"code": now_code(secret)}),
            client.get(f"/totp/factors/{factor_id}"),
            client.get("/totp/factors", params={"identity": "user-1234"}),
            client.post("/totp/check", json={"identity": "user-1234", "code": next_code(secret)}),
            client.post("/totp/check", json={"identity": "user-1234", "code": "000000"}),
        ]
        recovery = client.post("/totp/recovery-codes", json={"identity": "user-1234"}).json()["codes"]
        answers.append(client.post("/totp/check", json={"identity": "user-1234", "code": recovery[0]}))
        answers.append(client.get("/metrics"))
    assert all(answer.status_code == 200 for answer in answers), [answer.text for answer in answers]
    for answer in answers:
        assert secret not in answer.text and "otpauth" not in answer.text and "<svg" not in answer.text

    log = Path(app.log).read_text()
    assert "totp factor created" in log and factor_id in log  # the log is there, and speaks of the factor
    assert secret not in log and secret.lower() not in log and "otpauth" not in log
    assert not any(code in log or code.replace("-", "") in log for code in recovery)

    values = asyncio.run(stored_values(app.database_url))
    assert any(value == factor_id for value in values)  # the rows were read
    stored = b"\n".join(value if isinstance(value, bytes) else str(value).encode() for value in values)
    for form in forms_of(secret):
        assert form not in stored
    assert not any(code.encode() in stored or code.replace("-", "").encode() in stored for code in recovery)
    if app.database_url.startswith("sqlite"):  # the file itself, journal included
        path = Path(app.database_url.split("///", 1)[1])
        files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert not any(form in files for form in forms_of(secret))
