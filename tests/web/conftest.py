"""The map in a real browser: Debian's headless Chromium driven by Playwright
(never ``playwright install``: the browser comes from apt, see scripts/setup),
against a real server with the Euphrates scenario and the map mounted."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.service.conftest import Running, start

CHROMIUM = os.environ.get("DECONFLICT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "web"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One server with the map for a module; notifications are overdue after 6 s."""
    yield from start(tmp_path_factory.mktemp("web") / "server.sqlite3", web=True, ack_deadline_s=6.0)


@pytest.fixture(scope="module")
def browser_context() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="deconflict-chromium-")
    try:
        with sync_playwright() as p:
            # A persistent context is how Playwright takes a fresh --user-data-dir.
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS, accept_downloads=True,
                viewport={"width": 1366, "height": 860}, locale="en-GB", timezone_id="UTC")
            context.set_default_timeout(10_000)
            yield context
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def shot() -> Callable[[object, str], Path]:
    """Save a screenshot of a page as a test artefact (test-artifacts/web/NAME.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page: object, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))  # type: ignore[attr-defined]
        return path

    return save
