"""Browser tests: Playwright for Python driving the system's headless Chromium (never a downloaded one).

The browser is Debian's ``chromium`` package (``CHROMIUM`` overrides its path). Where it or
Playwright is missing the tests skip with the reason, unless ``REQUIRE_SERVICES=1`` (CI), where
that is a failure. Screenshots land in ``var/screenshots`` (git-ignored) as artifacts.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, REQUIRE_SERVICES

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def chromium(live_server, monkeypatch) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A headless Chromium for one test, started after the live server and closed before it stops.

    Playwright's sync API keeps an event loop in the test's thread; the test still reads the
    database between browser steps, which Django would refuse as "async unsafe" while that loop
    exists. Nothing runs concurrently with the loop, so the check is off for this test only.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -r requirements-dev.txt)")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def screenshots(request) -> Path:  # type: ignore[no-untyped-def]
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
