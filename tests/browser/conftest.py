"""Browser fixtures: Debian's Chromium driven by Playwright against the app in a devhost process
on Azurite (tests/e2e's host), or on the host E2E_BASE_URL names."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.operator import FUNCTION_KEY, OperatorPage
from tests.e2e.api import OrderApi
from tests.e2e.conftest import GIVEN_BASE_URL, given_host, start_app

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Set by .ci/run: a missing browser then fails the run instead of skipping it.
REQUIRED = os.environ.get("BROWSER_TESTS_REQUIRED") == "1"
HOW_TO_ENABLE = (
    "install Debian's Chromium (`apt-get install chromium`, or set CHROMIUM_PATH) and the dev "
    "requirements (`.venv/bin/pip install -r requirements-dev.txt`, for playwright); "
    "`playwright install` is not needed"
)
# The machine's network is closed: without these, Chromium keeps reaching out to Google.
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS: list[Path] = []
# Slower durable time than e2e's 60x: a 100-line order's reservations take about 2 s of wall
# time on 2 busy cores, and the steps' 120 s timeout would be 2 s at 60x.
TIME_SCALE = 20


def _missing(what: str) -> None:
    message = f"{what}: to run the browser tests, {HOW_TO_ENABLE}"
    if REQUIRED:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium for a module's tests. Not the session's: Playwright's sync API keeps
    an event loop running in the main thread while it is open, and every later test calling
    asyncio.run() would fail."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} does not exist")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OrderApi]:
    """The app for a module's tests, in a devhost process of its own as tests/e2e starts it, but
    at TIME_SCALE and with a day-long approval window (a decision made in the browser always
    finds the order waiting)."""
    if GIVEN_BASE_URL is not None:
        yield given_host(GIVEN_BASE_URL)
        return
    azurite: str = request.getfixturevalue("azurite")
    log_dir = tmp_path_factory.mktemp("browser")
    process = start_app(azurite, log_dir, TIME_SCALE, APPROVAL_TIMEOUT_SECONDS="86400")
    with process:
        yield OrderApi(process.base_url)


@pytest.fixture
def operator(chromium: Any, app: OrderApi, tmp_path: Path) -> Iterator[OperatorPage]:
    """A fresh browser tab on the operator pages; afterwards, the page must have called only
    the app, always with the function key it was opened with, and raised no script error."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = OperatorPage(context.new_page(), app.base_url, tmp_path, SCREENSHOTS)
    try:
        yield page
    finally:
        context.close()
    assert page.script_errors == []
    assert page.foreign_requests == []
    assert page.keyless_requests == [], f"API calls without code={FUNCTION_KEY}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCREENSHOTS:
        terminalreporter.section("operator page screenshots")
        for path in SCREENSHOTS:
            terminalreporter.write_line(str(path))
