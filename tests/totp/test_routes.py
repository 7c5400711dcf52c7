"""The native /totp routes over a real process, on SQLite and PostgreSQL: enrol, verify,
check, replay, lockout, recovery codes, list and delete; 50 concurrent right codes."""

import asyncio

import httpx

from tests.totp.conftest import API_KEY, ServedFactory, next_code, now_code


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def enrol(client: httpx.Client, identity: str = "user-1234", **fields: object) -> dict[str, object]:
    response = client.post("/totp/factors", json={"identity": identity, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_enrol_verify_check_list_and_delete(served: ServedFactory) -> None:
    with served() as app, app.client as client:
        assert httpx.post(app.url + "/totp/factors", json={"identity": "user-1234"}).status_code == 401
        created = enrol(client, label="alice@example.com", issuer="Acme Shop")
        secret, factor_id = str(created["secret"]), str(created["id"])
        assert created["status"] == "unverified" and factor_id.startswith("YF")
        assert str(created["uri"]).startswith("otpauth://totp/Acme%20Shop:alice%40example.com?secret=" + secret)
        assert str(created["qrSvg"]).startswith("<svg xmlns=")
        assert (created["digits"], created["period"], created["algorithm"], created["skew"]) == (6, 30, "sha1", 1)

        not_yet = client.post("/totp/check", json={"identity": "user-1234", "code": now_code(secret)})
        assert (not_yet.status_code, not_yet.json()["code"]) == (404, "entity_not_found")
        wrong_verify = client.post(f"/totp/factors/{factor_id}/verify", json={"code": wrong(now_code(secret))})
        assert wrong_verify.status_code == 200 and wrong_verify.json()["status"] == "unverified"
        right_verify = client.post(f"/totp/factors/{factor_id}/verify", json={"code": now_code(secret)})
        assert right_verify.status_code == 200 and right_verify.json()["status"] == "verified"

        code = next_code(secret)
        approved = client.post("/totp/check", json={"identity": "user-1234", "code": code}).json()
        assert approved == {"status": "approved", "factorId": factor_id, "recoveryCode": False}
        replay = client.post("/totp/check", json={"identity": "user-1234", "code": code}).json()
        assert replay["status"] == "denied"

        listed = client.get("/totp/factors", params={"identity": "user-1234"}).json()["factors"]
        assert [factor["id"] for factor in listed] == [factor_id] and listed[0]["status"] == "verified"
        assert "secret" not in listed[0] and "uri" not in listed[0]
        assert client.get(f"/totp/factors/{factor_id}").json()["label"] == "alice@example.com"

        assert client.delete(f"/totp/factors/{factor_id}").status_code == 204
        assert client.get(f"/totp/factors/{factor_id}").json()["code"] == "factor_not_found"
        assert client.delete(f"/totp/factors/{factor_id}").status_code == 404
        assert client.get("/totp/factors", params={"identity": "user-1234"}).json() == {"factors": []}


def test_bad_input_is_a_clear_400(served: ServedFactory) -> None:
    with served() as app, app.client as client:
        for body in (
            {"identity": "has/slash"},
            {"identity": "user-1", "digits": 9},
            {"identity": "user-1", "algorithm": "md5"},
            {"identity": "user-1", "label": "a:b"},
            {"identity": "user-1", "secret": "JBSWY3DPEHPK3PXP"},
        ):
            response = client.post("/totp/factors", json=body)
            assert (response.status_code, response.json()["code"]) == (400, "invalid_request"), body
        assert client.post("/totp/check", json={"identity": "user-1", "code": "12"}).status_code == 400
        assert client.get("/totp/factors").json()["code"] == "invalid_request"
        assert client.post("/totp/factors/YF0/verify", json={"code": "123456"}).status_code == 404


def test_five_wrong_codes_lock_the_factor_with_retry_after(served: ServedFactory) -> None:
    with served() as app, app.client as client:
        created = enrol(client)
        secret = str(created["secret"])
        client.post(f"/totp/factors/{created['id']}/verify", json={"code": now_code(secret)})
        for _ in range(5):
            denied = client.post("/totp/check", json={"identity": "user-1234", "code": wrong(next_code(secret))})
            assert denied.json()["status"] == "denied"
        locked = client.post("/totp/check", json={"identity": "user-1234", "code": next_code(secret)})
        assert (locked.status_code, locked.json()["code"]) == (429, "max_attempts_reached")
        assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
        verify = client.post(f"/totp/factors/{created['id']}/verify", json={"code": next_code(secret)})
        assert verify.status_code == 429


def test_recovery_codes_are_shown_once_and_each_works_once(served: ServedFactory) -> None:
    with served() as app, app.client as client:
        refused = client.post("/totp/recovery-codes", json={"identity": "user-1234"})
        assert (refused.status_code, refused.json()["code"]) == (404, "entity_not_found")
        created = enrol(client)
        client.post(f"/totp/factors/{created['id']}/verify", json={"code": now_code(str(created["secret"]))})
        answer = client.post("/totp/recovery-codes", json={"identity": "user-1234"})
        assert answer.status_code == 201
        codes = answer.json()["codes"]
        assert len(codes) == 10
        used = client.post("/totp/check", json={"identity": "user-1234", "code": codes[3]}).json()
        assert used == {"status": "approved", "factorId": None, "recoveryCode": True}
        again = client.post("/totp/check", json={"identity": "user-1234", "code": codes[3]}).json()
        assert again["status"] == "denied"


async def test_fifty_concurrent_right_codes_are_approved_once(served: ServedFactory) -> None:
    with served() as app:
        with app.client as client:
            created = enrol(client)
            secret = str(created["secret"])
            client.post(f"/totp/factors/{created['id']}/verify", json={"code": now_code(secret)})
        code = next_code(secret)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=app.url, headers=headers, timeout=60, limits=limits) as client:
            answers = await asyncio.gather(
                *(client.post("/totp/check", json={"identity": "user-1234", "code": code}) for _ in range(50))
            )
        assert {answer.status_code for answer in answers} == {200}
        statuses = [answer.json()["status"] for answer in answers]
        assert statuses.count("approved") == 1 and statuses.count("denied") == 49
