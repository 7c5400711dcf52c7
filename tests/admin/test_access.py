"""Who gets into /admin: the 404 while unset, login, the session cookie, CSRF, the audit line."""

import base64
import json
import logging
from typing import Any

import pytest

from otpservice.admin.session import SESSION_COOKIE
from otpservice.api.admin_lockout import MAX_FAILURES, WINDOW_MINUTES
from tests.admin.traffic import ADMIN_KEY, API_KEY, CSRF, OTHER_ADMIN_KEY, login, number
from tests.conftest import AppFactory


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/admin"),
        ("GET", "/admin/login"),
        ("POST", "/admin/login"),
        ("GET", "/admin/breakers"),
        ("GET", "/admin/search"),
        ("GET", "/admin/anything/else"),
    ],
)
async def test_admin_answers_404_while_admin_keys_unset(app_client: AppFactory, method: str, path: str) -> None:
    async with app_client() as client:
        response = await client.request(method, path)
    assert response.status_code == 404


async def test_api_keys_do_not_guard_the_console_and_still_guard_the_api(app_client: AppFactory) -> None:
    async with app_client(api_keys=API_KEY, admin_api_keys=ADMIN_KEY) as client:
        assert (await client.get("/admin/login")).status_code == 200
        assert (await client.get("/admin")).status_code == 303
        assert (await client.post("/verify/start", json={"to": number("GB", 1)})).status_code == 401


async def test_a_wrong_key_shows_the_form_again_with_a_message(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        form = await client.get("/admin/login")
        token = CSRF.search(form.text)
        assert token
        response = await client.post("/admin/login", data={"csrf": token.group(1), "key": ADMIN_KEY + "x"})
        assert response.status_code == 401
        assert "Unknown key." in response.text and 'name="key"' in response.text
        assert SESSION_COOKIE not in client.cookies
        assert (await client.get("/admin")).status_code == 303


def _set_cookie(response: Any, name: str) -> str:
    return next(value for value in response.headers.get_list("set-cookie") if value.startswith(name + "="))


@pytest.mark.parametrize(
    "base_url,secure", [(None, False), ("http://otp.example.com", False), ("https://otp.example.com", True)]
)
async def test_session_cookie_flags(app_client: AppFactory, base_url: str | None, secure: bool) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY, public_base_url=base_url) as client:
        client.base_url = "https://otpservice.test"  # a Secure cookie is sent back over https only
        form = await client.get("/admin/login")
        token = CSRF.search(form.text)
        assert token
        response = await client.post("/admin/login", data={"csrf": token.group(1), "key": ADMIN_KEY})
    cookie = _set_cookie(response, SESSION_COOKIE)
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= flags
    assert "SameSite=strict" in cookie and "Max-Age=43200" in cookie and "Path=/admin" in cookie
    assert ("secure" in flags) is secure
    value = cookie.split(";")[0].split("=", 1)[1]
    payload = value.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert ADMIN_KEY not in decoded and ADMIN_KEY not in cookie
    assert set(json.loads(decoded)) == {"k", "n"}


async def test_a_replica_accepts_the_session_until_its_key_leaves_admin_api_keys(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=f"{ADMIN_KEY},{OTHER_ADMIN_KEY}") as first:
        await login(first)
        cookie = first.cookies[SESSION_COOKIE]
    async with app_client(admin_api_keys=ADMIN_KEY) as replica:
        replica.cookies.set(SESSION_COOKIE, cookie, path="/admin")
        assert (await replica.get("/admin")).status_code == 200
    async with app_client(admin_api_keys=OTHER_ADMIN_KEY) as rotated:
        rotated.cookies.set(SESSION_COOKIE, cookie, path="/admin")
        assert (await rotated.get("/admin")).status_code == 303
    async with app_client(admin_api_keys=ADMIN_KEY, otp_secret_key="another-secret-key-0123456789abcd") as other:
        other.cookies.set(SESSION_COOKIE, cookie, path="/admin")
        assert (await other.get("/admin")).status_code == 303


async def test_a_tampered_cookie_is_no_session(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        await login(client)
        value = client.cookies[SESSION_COOKIE]
        client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"), path="/admin")
        assert (await client.get("/admin")).status_code == 303


async def test_posts_without_a_valid_csrf_token_get_403_and_change_nothing(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        started = await client.post("/verify/start", json={"to": number("GB", 1)})
        verification_id = started.json()["id"]
        token = await login(client)
        for form in ({}, {"csrf": ""}, {"csrf": token[:-1] + ("0" if token[-1] != "0" else "1")}):
            cancel = await client.post(f"/admin/verifications/{verification_id}/cancel", data=form)
            block = await client.post(
                "/admin/breakers", data={**form, "scope": "prefix", "key": "+4474001", "action": "block"}
            )
            assert cancel.status_code == block.status_code == 403
            assert "Nothing was changed" in cancel.text
        assert (await client.get(f"/verify/{verification_id}")).json()["status"] == "pending"
        assert "No breaker is open" in (await client.get("/admin/breakers")).text
        # A token of another session is no token of this one.
        client.cookies.clear()
        await login(client)
        refused = await client.post(f"/admin/verifications/{verification_id}/cancel", data={"csrf": token})
        assert refused.status_code == 403
        assert (await client.get(f"/verify/{verification_id}")).json()["status"] == "pending"


async def test_login_without_its_form_token_is_refused(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        response = await client.post("/admin/login", data={"key": ADMIN_KEY})
        assert response.status_code == 403
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


async def test_actions_are_logged_with_a_fingerprint_never_the_key(
    app_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        started = await client.post("/verify/start", json={"to": number("GB", 2)})
        token = await login(client)
        with caplog.at_level(logging.INFO, logger="otpservice.admin"):
            await client.post(f"/admin/verifications/{started.json()['id']}/cancel", data={"csrf": token})
            await client.post(
                "/admin/breakers",
                data={
                    "csrf": token,
                    "scope": "country",
                    "key": "gb",
                    "action": "block",
                    "ttl": "60",
                    "note": "pumping",
                },
            )
    actions = [record for record in caplog.records if record.name == "otpservice.admin"]
    assert [record.action for record in actions] == ["cancel", "block"]  # type: ignore[attr-defined]
    fingerprints = {record.admin_key for record in actions}  # type: ignore[attr-defined]
    assert len(fingerprints) == 1 and len(fingerprints.pop()) == 8
    assert actions[1].target == "country:GB" and actions[1].ttl == 60  # type: ignore[attr-defined]
    assert all(record.at for record in actions)  # type: ignore[attr-defined]
    assert ADMIN_KEY not in caplog.text and all(ADMIN_KEY not in str(r.__dict__) for r in caplog.records)


async def test_logout_drops_the_cookie(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        token = await login(client)
        response = await client.post("/admin/logout", data={"csrf": token})
        assert response.status_code == 303 and response.headers["location"] == "/admin/login"
        assert (await client.get("/admin")).status_code == 303


async def _try_key(client: Any, key: str, address: str) -> Any:
    form = await client.get("/admin/login")
    token = CSRF.search(form.text)
    assert token
    return await client.post(
        "/admin/login", data={"csrf": token.group(1), "key": key}, headers={"X-Forwarded-For": address}
    )


async def test_ten_wrong_keys_lock_the_address_out_of_the_form_across_replicas(
    app_client: AppFactory, limit_storage: dict[str, str]
) -> None:
    limits, on_redis = limit_storage, limit_storage["rate_limit_storage_url"].startswith("redis")
    settings = {"admin_api_keys": ADMIN_KEY, "trusted_proxies": "203.0.113.7", **limits}
    guesser, operator = "192.0.2.7", "198.51.100.20"  # behind the test client, a trusted proxy
    async with app_client(**settings) as client:
        for _ in range(MAX_FAILURES):
            assert (await _try_key(client, ADMIN_KEY + "x", guesser)).status_code == 401
        refused = await _try_key(client, ADMIN_KEY, guesser)  # even the right key, from that address
        assert refused.status_code == 429 and "Too many failed logins" in refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= WINDOW_MINUTES * 60
        assert SESSION_COOKIE not in client.cookies
        assert (await _try_key(client, ADMIN_KEY, operator)).status_code == 303  # another address is not locked
    if on_redis:  # a second replica on the same Redis counts the same failures
        async with app_client(**settings) as replica:
            assert (await _try_key(replica, ADMIN_KEY, guesser)).status_code == 429


async def test_correct_keys_count_no_failure(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY, trusted_proxies="203.0.113.7") as client:
        for _ in range(MAX_FAILURES + 2):
            assert (await _try_key(client, ADMIN_KEY, "192.0.2.8")).status_code == 303
        for _ in range(MAX_FAILURES - 1):
            assert (await _try_key(client, "wrong", "192.0.2.8")).status_code == 401
        assert (await _try_key(client, ADMIN_KEY, "192.0.2.8")).status_code == 303


async def test_the_admin_api_and_the_form_count_wrong_keys_together(app_client: AppFactory) -> None:
    """A guesser cannot split its tries between the two doors an admin key opens."""
    async with app_client(admin_api_keys=ADMIN_KEY, trusted_proxies="203.0.113.7") as client:
        guesser = {"X-Forwarded-For": "192.0.2.9"}
        for _ in range(MAX_FAILURES // 2):
            assert (await _try_key(client, "wrong", "192.0.2.9")).status_code == 401
        for _ in range(MAX_FAILURES - MAX_FAILURES // 2):
            answer = await client.get("/admin/fraud/breakers", headers={**guesser, "Authorization": "Bearer wrong"})
            assert answer.status_code == 401
        right = {**guesser, "Authorization": f"Bearer {ADMIN_KEY}"}
        refused = await client.get("/admin/fraud/breakers", headers=right)
        assert refused.status_code == 429 and refused.json()["code"] == "ip_rate_limited"
        assert 0 < int(refused.headers["Retry-After"]) <= WINDOW_MINUTES * 60
        assert (await _try_key(client, ADMIN_KEY, "192.0.2.9")).status_code == 429
        other = {"X-Forwarded-For": "198.51.100.21", "Authorization": f"Bearer {ADMIN_KEY}"}
        assert (await client.get("/admin/fraud/breakers", headers=other)).status_code == 200


async def test_a_cookie_kept_after_logout_opens_nothing_on_any_replica(
    app_client: AppFactory, limit_storage: dict[str, str]
) -> None:
    limits, on_redis = limit_storage, limit_storage["rate_limit_storage_url"].startswith("redis")
    async with app_client(admin_api_keys=ADMIN_KEY, **limits) as client:
        token = await login(client)
        kept, other = client.cookies[SESSION_COOKIE], await _second_session(client)
        assert (await client.post("/admin/logout", data={"csrf": token})).status_code == 303
        client.cookies.set(SESSION_COOKIE, kept, path="/admin")  # a copy of the cookie, replayed
        assert (await client.get("/admin")).status_code == 303
        assert (await client.post("/admin/logout", data={"csrf": token})).status_code == 403
        client.cookies.set(SESSION_COOKIE, other, path="/admin")  # another session of the same key lives on
        assert (await client.get("/admin")).status_code == 200
    if on_redis:
        async with app_client(admin_api_keys=ADMIN_KEY, **limits) as replica:
            replica.cookies.set(SESSION_COOKIE, kept, path="/admin")
            assert (await replica.get("/admin")).status_code == 303
            replica.cookies.set(SESSION_COOKIE, other, path="/admin")
            assert (await replica.get("/admin")).status_code == 200


async def _second_session(client: Any) -> str:
    """Log in once more from a fresh cookie jar of the same app; its session cookie."""
    first = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    await login(client)
    second = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, first, path="/admin")
    return str(second)
