"""Real headless Chromium (Debian's, never a downloaded one): a fresh profile, axe-core on a
page, screenshots for the docs, and the live app a browser test talks to."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Locator, Page, Playwright, expect
from sqlalchemy import select

from service.app import create_app
from service.appkeys import SESSIONMAKER
from service.settings import Settings
from storage.models import Item
from tests.support.settings import make_settings
from tests.support.smtp import Inbox, free_port

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
# A fake camera and microphone that need no permission prompt, for call pages.
FAKE_MEDIA_ARGS = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
)
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


# A fake camera and microphone, allowed without asking: for call pages.
FAKE_MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@asynccontextmanager
async def live_call_app(database_url: str, data_dir: Path, inbox: Inbox) -> AsyncIterator[LiveApp]:
    """The app on a free loopback port for call pages: the relay offers loopback candidates,
    which a browser on this machine reaches."""
    port = free_port()
    settings = make_settings(
        database_url,
        data_dir,
        public_url=f"http://127.0.0.1:{port}",
        smtp_url=inbox.url,
        ice_host_address="127.0.0.1",
    )
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield LiveApp(server, settings, inbox)
    finally:
        await server.close()


async def new_browser(
    playwright: Playwright,
    user_data_dir: Path,
    *,
    phone: bool = False,
    extra_args: Sequence[str] = (),
    media: bool = False,
) -> BrowserContext:
    """A fresh Chromium profile. ``bypass_csp`` only lets the test inject axe-core; the
    app's own pages never need it (the CSP forbids inline script)."""
    viewport = {"width": 390, "height": 844} if phone else {"width": 1200, "height": 900}
    context = await playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*CHROMIUM_ARGS, *extra_args, *(FAKE_MEDIA_ARGS if media else [])],
        viewport=viewport,  # type: ignore[arg-type]
        # A phone is touched, not clicked: tests tap.
        has_touch=phone,
        is_mobile=phone,
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


async def phone(browser: Browser) -> BrowserContext:
    """A fresh person on a phone (390x844, touched, not clicked): as ``new_browser(phone=True)``
    but in a shared browser."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        bypass_csp=True,
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def chromium_over_devtools(profile: Path, *extra_args: str) -> Iterator[str]:
    """One Chromium for a whole test module, yielding its DevTools address: each test connects
    to it (``connect_over_cdp``) from its own event loop, which a browser launched by
    Playwright in one test cannot outlive. Chromium writes the port it chose into its profile
    once it listens, so nothing clashes with other tests. Stopped when the generator closes."""
    process = subprocess.Popen(
        [
            str(CHROMIUM),
            *CHROMIUM_ARGS,
            *extra_args,
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            assert process.poll() is None, "Chromium stopped before it listened"
            assert time.monotonic() < deadline, "Chromium did not listen within 60 s"
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        yield f"ws://127.0.0.1:{port}{path}"
    finally:
        process.terminate()
        process.wait(timeout=60)


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


async def open_moderation_queue(page: Page) -> None:
    """From any page of a signed-in staff member or admin: the site menu's "Moderation
    queue"."""
    await (
        page.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Moderation queue")
        .click()
    )
    await expect(page.get_by_role("heading", name="Waiting for review")).to_be_visible(
        timeout=TIMEOUT_MS
    )


async def review_from_queue(page: Page, has_text: str | re.Pattern[str]) -> None:
    """On the moderation queue: the Review button of the row showing ``has_text`` (its
    first words, its family or its sender)."""
    row = page.get_by_role("row").filter(has_text=has_text)
    await row.get_by_role("link", name=re.compile("^Review")).click()
    await expect(page.get_by_role("heading", name="Waiting for review")).to_have_count(
        0, timeout=TIMEOUT_MS
    )


async def open_child_call_screen(page: Page, call_id: object, password: str) -> None:
    """Staff on the centre device: the site menu's "Video calls", the call's "Open the
    child's call screen", and their password to lock the device to the call."""
    await (
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Video calls").click()
    )
    await (
        page.locator(f'tr[data-call-id="{call_id}"]')
        .get_by_role("link", name="Open the child's call screen")
        .click()
    )
    await page.get_by_label("Your password").fill(password)
    await page.get_by_role("button", name="Lock this device to the call").click()
    await expect(page.locator("#call")).to_have_attribute("data-role", "child", timeout=TIMEOUT_MS)


async def newest_sent(live: LiveApp, sender_id: uuid.UUID) -> uuid.UUID:
    """The id of the item ``sender_id`` sent last (a journey then opens it by its link)."""
    async with live.server.app[SESSIONMAKER]() as session:
        found = await session.scalar(
            select(Item.id)
            .where(Item.sender_id == sender_id)
            .order_by(Item.submitted_at.desc())
            .limit(1)
        )
    assert found is not None
    return found


async def tap_to(page: Page, target: Locator) -> None:
    """Tap something that opens another page, and wait until that page is there."""
    async with page.expect_navigation():
        await target.tap()
