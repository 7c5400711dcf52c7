"""Console sessions fail closed (SPEC 19): a logged-out session stays refused across a real
restart and whatever the limit storage does (the logout is kept in the database); while the
limit storage cannot be read, the console and the admin API answer 503. Real service
processes; a redis-server of the test's own, stopped and started again empty."""

import shutil
import time
from pathlib import Path

import httpx
import pytest

from otpservice.admin.session import SESSION_COOKIE
from tests.admin.servers import service_env
from tests.admin.traffic import ADMIN_KEY, CSRF
from tests.conftest import IN_CI
from tests.ops.test_limits_outage import redis_server
from tests.process import free_port, serve


def login(base_url: str) -> tuple[str, str]:
    """A new session through the form: (its cookie, a CSRF token of it)."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        form = http.get("/admin/login")
        token = CSRF.search(form.text)
        assert token, form.text
        answer = http.post("/admin/login", data={"csrf": token.group(1), "key": ADMIN_KEY})
        assert answer.status_code == 303, answer.text
        page = http.get("/admin")
        found = CSRF.search(page.text)
        assert page.status_code == 200 and found
        return str(http.cookies[SESSION_COOKIE]), found.group(1)


def log_out(base_url: str, cookie: str, csrf: str) -> None:
    answer = httpx.post(base_url + "/admin/logout", data={"csrf": csrf}, cookies={SESSION_COOKIE: cookie})
    assert answer.status_code == 303, answer.text


def page(base_url: str, cookie: str) -> int:
    return httpx.get(base_url + "/admin", cookies={SESSION_COOKIE: cookie}, timeout=10).status_code


def test_a_logged_out_session_stays_refused_after_a_restart(tmp_path: Path) -> None:
    env = {**service_env(tmp_path), "RATE_LIMIT_STORAGE_URL": "memory://"}
    with serve(env, tmp_path / "first.log") as (base_url, _):
        revoked, csrf = login(base_url)
        live, _ = login(base_url)
        log_out(base_url, revoked, csrf)
        assert page(base_url, revoked) == 303
    with serve(env, tmp_path / "second.log") as (base_url, _):  # the memory storage starts empty
        assert page(base_url, revoked) == 303  # to the login form: the logout held
        assert page(base_url, live) == 200


@pytest.mark.redis
def test_console_and_admin_api_fail_closed_while_redis_is_down(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server not installed")
    port = free_port()
    env = {**service_env(tmp_path), "RATE_LIMIT_STORAGE_URL": f"redis://127.0.0.1:{port}/0"}
    bearer = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with redis_server(port, tmp_path) as redis, serve(env, tmp_path / "serve.log") as (base_url, _):
        revoked, csrf = login(base_url)
        live, _ = login(base_url)
        log_out(base_url, revoked, csrf)
        assert httpx.get(base_url + "/admin/fraud/breakers", headers=bearer).status_code == 200
        redis.kill()
        redis.wait()

        for cookie in (revoked, live):
            answer = httpx.get(base_url + "/admin", cookies={SESSION_COOKIE: cookie}, timeout=10)
            assert answer.status_code == 503, answer.text
        for key in (ADMIN_KEY, "wrong"):  # no key judged: a wrong one could not be counted
            answer = httpx.get(base_url + "/admin/fraud/breakers", headers={"Authorization": f"Bearer {key}"})
            assert (answer.status_code, answer.json()["code"]) == (503, "limits_unavailable"), answer.text
            assert int(answer.headers["Retry-After"]) >= 1
        with httpx.Client(base_url=base_url, timeout=10) as http:
            token = CSRF.search(http.get("/admin/login").text)
            assert token
            assert http.post("/admin/login", data={"csrf": token.group(1), "key": "wrong"}).status_code == 503

        with redis_server(port, tmp_path):  # back, and empty: the logout was not kept there
            deadline = time.monotonic() + 5
            while page(base_url, live) != 200:
                assert time.monotonic() < deadline, "the console did not recover within 5 s of Redis"
                time.sleep(0.2)
            assert page(base_url, revoked) == 303
            assert httpx.get(base_url + "/admin/fraud/breakers", headers=bearer).status_code == 200
