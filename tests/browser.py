"""A real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by selenium), and the
list of every URL a page made it request (from Chrome's performance log).

Use: `from tests.browser import browser, loaded_urls` in a test module (pytest finds the fixture
by that import). scripts/test installs the two packages when they are missing (ensure_browser).
"""

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _binaries() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless selenium Chrome driver that records the network log; quit at the end."""
    found = _binaries()
    if found is None:
        message = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--no-first-run",
        "--no-default-browser-check",
        # No background traffic of Chromium's own (updates, safe browsing...).
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--metrics-recording-only",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def loaded_urls(driver: Any) -> list[str]:
    """Every URL the browser requested since the last call (documents, scripts, styles, images,
    fetches), read from the performance log, in order, data: URLs left out."""
    urls: list[str] = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith("data:") and url not in urls:
                urls.append(url)
    return urls
