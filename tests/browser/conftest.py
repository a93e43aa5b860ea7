"""Real headless Chromium (Debian's, never a downloaded one) against the real app served on
a free loopback port, with a real SMTP server catching the e-mails, and axe-core run on
every page a test visits."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page, Playwright, async_playwright, expect

from service.app import create_app
from service.settings import Settings
from tests.conftest import make_settings
from tests.support.smtp import Inbox, free_port, smtp_server

__all__ = ["smtp_server"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# Generous: a loaded CI machine must not make these tests flaky.
TIMEOUT_MS = 20_000


@dataclass
class LiveApp:
    server: TestServer
    settings: Settings
    inbox: Inbox

    @property
    def url(self) -> str:
        return self.settings.public_url


@pytest.fixture
async def live_app(database_url: str, tmp_path: Path, smtp_server: Inbox) -> AsyncIterator[LiveApp]:
    port = free_port()
    settings = make_settings(
        database_url,
        tmp_path / "data",
        public_url=f"http://127.0.0.1:{port}",
        smtp_url=smtp_server.url,
    )
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield LiveApp(server, settings, smtp_server)
    finally:
        await server.close()


@pytest.fixture
def browser_tools() -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required at /usr/bin/chromium (make test-services)")
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make test-services` (npm ci --prefix tests/browser)")


@pytest.fixture
async def playwright(browser_tools: None) -> AsyncIterator[Playwright]:
    expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as running:
        yield running


async def new_browser(
    playwright: Playwright, user_data_dir: Path, *, phone: bool = False
) -> BrowserContext:
    """A fresh Chromium profile. ``bypass_csp`` only lets the test inject axe-core; the
    app's own pages never need it (the CSP forbids inline script)."""
    viewport = {"width": 390, "height": 844} if phone else {"width": 1200, "height": 900}
    context = await playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=viewport,  # type: ignore[arg-type]
        bypass_csp=True,
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


async def check_accessibility(page: Page) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    await page.add_script_tag(path=str(AXE))
    results = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    bad = [v for v in results if v["impact"] in ("serious", "critical")]
    assert bad == [], f"accessibility problems on {page.url}:\n{json.dumps(bad, indent=2)}"


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def url_pattern(live: LiveApp, path_regex: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(live.url) + path_regex + r"(\?.*)?$")
