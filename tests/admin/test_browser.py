"""The console in a real headless Chromium, against a real running service.

Traffic is made through the API (/verify/start, /verify/check with codes read from
/dev/outbox); the browser logs in, reads the counts, searches, cancels, trips over CSRF, and
resets a breaker from the page. Set OTPSERVICE_SCREENSHOTS to a folder (docs/) to keep the
overview and verification screenshots shown in docs/operations.md.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.admin.servers import service_in_thread, service_process
from tests.admin.traffic import ADMIN_KEY, API_KEY, make_traffic, number
from tests.browser import browser  # noqa: F401  (the fixture)

AUTH = {"Authorization": f"Bearer {API_KEY}"}
PLAN = {"GB": (5, 4), "US": (4, 1), "DE": (3, 3), "IN": (2, 0)}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    with service_process(tmp_path) as base_url:
        yield base_url


@pytest.fixture
async def api(service: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service, timeout=10) as client:
        yield client


def click(browser: Any, element: Any) -> None:
    """Click, and wait until the next page (a form post, a link) has replaced this one and loaded."""
    browser.execute_script("window.__previousPage = true;")

    def next_page_loaded(driver: Any) -> bool:
        return bool(
            driver.execute_script("return window.__previousPage === undefined && document.readyState === 'complete';")
        )

    element.click()
    # While the page changes, the driver may answer with errors about the old document.
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(next_page_loaded)


def log_in(browser: Any, base_url: str, key: str = ADMIN_KEY) -> None:
    browser.get(base_url + "/admin")
    assert browser.current_url.endswith("/admin/login")
    browser.find_element(By.ID, "key").send_keys(key)
    click(browser, browser.find_element(By.ID, "login"))


def cell(browser: Any, row_selector: str, column: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, f"{row_selector} td.{column}").text)


async def test_log_in_see_the_api_traffic_search_and_cancel(browser: Any, service: str, api: httpx.AsyncClient) -> None:
    await make_traffic(api, PLAN, AUTH)
    pending = (await api.post("/verify/start", json={"to": number("US", 90)}, headers=AUTH)).json()

    log_in(browser, service, "not-the-key")
    assert browser.find_element(By.ID, "login-error").text == "Unknown key."
    browser.find_element(By.ID, "key").send_keys(ADMIN_KEY)
    click(browser, browser.find_element(By.ID, "login"))
    assert browser.current_url == service + "/admin"

    click(browser, browser.find_element(By.ID, "period-1h"))
    for country, (starts, approvals) in PLAN.items():
        extra = 1 if country == "US" else 0
        row = f'tr[data-country="{country}"]'
        assert cell(browser, row, "started") == str(starts + extra)
        assert cell(browser, row, "sent") == str(starts + extra)
        assert cell(browser, row, "approved") == str(approvals)
    assert browser.find_element(By.ID, "total-approved").text == "8"
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg rect.bar-started")) == len(PLAN)

    search = browser.find_element(By.NAME, "q")
    search.send_keys(number("US", 90))
    click(browser, browser.find_element(By.CSS_SELECTOR, "header button[type=submit]"))
    assert pending["id"] in browser.page_source and number("US", 90) not in browser.page_source
    click(browser, browser.find_element(By.LINK_TEXT, pending["id"]))
    assert browser.find_element(By.ID, "status").text == "pending"
    click(browser, browser.find_element(By.ID, "cancel"))
    assert browser.find_element(By.ID, "status").text == "canceled"
    assert (await api.get(f"/verify/{pending['id']}", headers=AUTH)).json()["status"] == "canceled"


def test_the_session_cookie_is_httponly_strict_and_holds_no_key(browser: Any, service: str) -> None:
    log_in(browser, service)
    cookies = {cookie["name"]: cookie for cookie in browser.get_cookies()}
    session = cookies["otpservice_admin"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict" and session["secure"] is False
    assert session["path"] == "/admin" and ADMIN_KEY not in session["value"]
    assert 11.9 * 3600 < session["expiry"] - __import__("time").time() <= 12 * 3600
    # Script on the page cannot read it.
    assert "otpservice_admin" not in browser.execute_script("return document.cookie")


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: Any, service: str, api: httpx.AsyncClient
) -> None:
    started = (await api.post("/verify/start", json={"to": number("DE", 50)}, headers=AUTH)).json()
    log_in(browser, service)
    browser.get(f"{service}/admin/verifications/{started['id']}")
    # Forge the form as another site would have to: without the session's token.
    browser.execute_script("document.querySelector('form[action$=\"/cancel\"] input[name=csrf]').value = 'forged';")
    click(browser, browser.find_element(By.ID, "cancel"))
    assert "Nothing was changed" in browser.find_element(By.ID, "error-message").text
    assert (await api.get(f"/verify/{started['id']}", headers=AUTH)).json()["status"] == "pending"


def _screenshot(browser: Any, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("OTPSERVICE_SCREENSHOTS", tmp_path))
    for _ in range(3):  # the window's height includes its frame: grow until the page fits
        height = int(browser.execute_script("return document.documentElement.scrollHeight"))
        inner = int(browser.execute_script("return window.innerHeight"))
        if inner >= height:
            break
        browser.set_window_size(1280, browser.get_window_size()["height"] + height - inner)
    assert browser.save_screenshot(str(folder / name))


TRIP_PREFIX = "+91912345"
# The breaker of SPEC 10, tripped by traffic: a small sample, enforced.
# A sample above the 5 pending codes of a range in PLAN, so that only trip_breaker trips one.
TRIP_SETTINGS = {"FRAUD_GUARD": "enforce", "FRAUD_MIN_SETTLED": "6"}


async def trip_breaker(api: httpx.AsyncClient) -> None:
    """Open the breaker of prefix +91912345 as an attack would: 6 verifications started to the
    range and never approved (canceled); the next start there is refused."""
    for index in range(6):
        started = await api.post("/verify/start", json={"to": f"{TRIP_PREFIX}000{index}"}, headers=AUTH)
        assert started.status_code == 201, started.text
        assert (await api.post(f"/verify/{started.json()['id']}/cancel", headers=AUTH)).status_code == 200
    deadline = asyncio.get_running_loop().time() + 15
    for attempt in range(1000):  # the very next start, in this process
        # another number of the range each time: never that number's own delay
        refused = await api.post("/verify/start", json={"to": f"{TRIP_PREFIX}{50 + attempt:04d}"}, headers=AUTH)
        if refused.status_code == 429 and refused.json()["code"] == "destination_suspended":
            assert (refused.json()["scope"], refused.json()["key"]) == ("prefix", TRIP_PREFIX)
            return
        assert asyncio.get_running_loop().time() < deadline, refused.text
        await asyncio.sleep(0.3)


async def test_trip_a_breaker_and_reset_it_from_the_page(browser: Any, tmp_path: Path) -> None:
    with service_in_thread(tmp_path, **TRIP_SETTINGS) as (base_url, app):
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as api:
            traffic = await make_traffic(api, PLAN, AUTH)
            await trip_breaker(api)

        log_in(browser, base_url)
        row = browser.find_element(By.CSS_SELECTOR, f'tr.breaker[data-key="prefix:{TRIP_PREFIX}"]')
        assert "open" in row.text
        _screenshot(browser, "console-overview.png", tmp_path)

        click(
            browser,
            browser.find_element(By.CSS_SELECTOR, f'button[data-action="reset"][data-key="prefix:{TRIP_PREFIX}"]'),
        )
        assert browser.find_element(By.ID, "no-breakers").is_displayed()
        assert await app.state.services.extras["breakers"].list_breakers() == []

        browser.get(base_url + "/admin/verifications/" + traffic.ids[number("GB", 0)])
        assert browser.find_element(By.ID, "status").text == "approved"
        _screenshot(browser, "console-verification.png", tmp_path)
