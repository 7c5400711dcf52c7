"""A real headless Chromium (Debian's `chromium` + `chromium-driver`) driven by selenium.

scripts/test installs both when they are missing (scripts/lib.sh ensure_browser), so the
browser tests run rather than skip; outside that set-up a missing browser skips them with
the reason, and fails them in CI.
"""

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser")
WINDOW = (1280, 1000)


def _find(names: tuple[str, ...]) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture
def browser() -> Iterator["object"]:
    """A fresh headless Chrome (own profile, no cookies) for one test."""
    chromium, driver = _find(CHROMIUM_NAMES), _find(("chromedriver",))
    if chromium is None or driver is None:
        message = "chromium and chromedriver are needed (scripts/test installs them)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--disable-extensions", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()
