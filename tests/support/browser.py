"""Real headless Chromium (Debian's, never a downloaded one): a fresh profile, axe-core on a
page, screenshots for the docs, and the live app a browser test talks to."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, Playwright

from service.settings import Settings
from tests.support.smtp import Inbox

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
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
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


async def launch(playwright: Playwright, *extra_args: str) -> Browser:
    """One Chromium for a whole test: each person in it gets their own context (cookies,
    storage), which is far cheaper than a browser each."""
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )


async def laptop(browser: Browser) -> BrowserContext:
    """A fresh person on a laptop-sized window (same settings as ``new_browser``)."""
    context = await browser.new_context(
        viewport={"width": 1200, "height": 900},
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
