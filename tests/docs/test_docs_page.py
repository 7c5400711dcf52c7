"""/docs in a real headless Chromium: Swagger UI renders the generated document, every file it
loads comes from the service itself, and a request made from the page reaches the API."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import browser, loaded_urls  # noqa: F401 (the fixture)
from tests.ops.test_cli import SECRETS
from tests.process import serve

API_KEY = "docs-test-key-0123456789"


def _wait(driver: Any, css: str, timeout: float = 30) -> Any:
    return WebDriverWait(driver, timeout).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))


def test_docs_render_the_api_from_the_service_alone(browser: Any, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": SECRETS["OTP_SECRET_KEY"],
        "API_KEYS": API_KEY,
    }
    with serve(env, tmp_path / "service.log") as (base_url, _):
        browser.get(base_url + "/docs")
        _wait(browser, "#operations-verify-startVerification")
        operations = {element.get_attribute("id") for element in browser.find_elements(By.CSS_SELECTOR, ".opblock")}
        text = browser.find_element(By.CSS_SELECTOR, "#swagger-ui").text
        urls = loaded_urls(browser)
        # Open to anyone while API_KEYS is set (DOCS_ENABLED defaults to true); the API is not.
        assert httpx.get(base_url + "/send").status_code == 401
    assert {
        "operations-sms-sendSms",
        "operations-verify-checkVerification",
        "operations-operations-healthz",
    } <= operations
    assert "otpservice" in text and "Authorize" in text
    origin = urlsplit(base_url).netloc
    assert {urlsplit(url).netloc for url in urls} == {origin}, urls
    paths = {urlsplit(url).path for url in urls}
    assert {"/docs", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/openapi.json"} <= paths, paths


def test_a_start_made_from_the_page_reaches_the_api(browser: Any, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/otp.db",
        "OTP_SECRET_KEY": SECRETS["OTP_SECRET_KEY"],
        "API_KEYS": API_KEY,
    }
    with serve(env, tmp_path / "service.log") as (base_url, _):
        browser.get(base_url + "/docs")
        _wait(browser, ".btn.authorize").click()
        _wait(browser, ".auth-container input").send_keys(API_KEY)
        browser.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .authorize").click()
        browser.find_element(By.CSS_SELECTOR, ".btn-done").click()
        operation = _wait(browser, "#operations-verify-startVerification")
        operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        _wait(browser, "#operations-verify-startVerification .try-out__btn").click()
        _wait(browser, "#operations-verify-startVerification .execute").click()
        status = _wait(browser, "#operations-verify-startVerification .live-responses-table tbody .response-col_status")
        shown = status.text
        outbox = httpx.get(base_url + "/dev/outbox", headers={"Authorization": f"Bearer {API_KEY}"}).json()
        urls = loaded_urls(browser)
    assert shown.startswith("201"), shown
    assert outbox["messages"] and outbox["messages"][0]["to"] == "+393339876543"
    assert {urlsplit(url).netloc for url in urls} == {urlsplit(base_url).netloc}, urls
