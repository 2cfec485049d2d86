"""Browser journeys: Playwright's Python package driving Debian's chromium
(CHROMIUM_PATH, else the one on the PATH, which `make test` installs with apt
when missing; Playwright cannot download browsers here)."""

import os
import shutil

import pytest


def chromium_path() -> str:
    """CHROMIUM_PATH (make test passes it), else the chromium on the PATH."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    if not os.path.exists(chromium):
        pytest.fail(
            f"chromium not found at {chromium}: set CHROMIUM_PATH, or `make browser` installs"
            " Debian's chromium"
        )
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # made by the test itself are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot_dir(tmp_path):
    """Where journeys leave screenshots: SCREENSHOT_DIR to keep them, else a temp dir."""
    from pathlib import Path

    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path
