"""Three real headless Chromium instances complete a call through the real app.

Parent, child (a centre device a staff member locks to the call with their password) and
supervisor each sign in and open their call page by clicks and typing from the sign-in page
(the supervisor's and the parent's Join on their home, the staff's "Video calls"), with a fake
camera and microphone; the supervisor admits the parent, sees media flow, pauses (the child
sees a friendly "short break" screen, not a frozen picture, and the parent is told) and resumes,
then ends the call, and both others show the ended screen within seconds. The pages' heartbeats
keep the supervisor counted as present; when the supervisor's page goes away the call pauses for
the child with plain words, and only the returning supervisor's resume reopens it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import playwright.async_api as playwright_api
import pytest
from aiohttp import web

from service.app import create_app
from tests.support.browser import open_child_call_screen
from tests.support.calls import CallWorld, book_call, make_world
from tests.support.centre_day import PASSWORD, sign_in, signable
from tests.support.settings import make_settings

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
TIMEOUT_MS = 30_000


async def until_true(page: Any, expression: str, within: float = TIMEOUT_MS / 1000) -> None:
    """Poll a page expression (the page's CSP forbids Playwright's in-page polling)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await page.evaluate(expression):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        await asyncio.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    base: str
    app: web.Application
    world: CallWorld

    @property
    def url(self) -> str:
        return self.base


@pytest.fixture
async def served(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Served]:
    database = tmp_path / "letterbox.db"
    shutil.copy(sqlite_template, database)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(
        f"sqlite+aiosqlite:///{database}",
        tmp_path / "data",
        public_url=base,
        port=str(port),
        ice_host_address="127.0.0.1",
    )
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        world = await make_world(app)
        yield Served(base, app, world)
    finally:
        await runner.cleanup()


async def test_three_browsers_complete_a_paused_call_that_the_supervisor_ends(
    served: Served, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    call_id = await book_call(served.app, served.world)
    people = {
        person: await signable(served.app, served.world.users[person])
        for person in ("supervisor", "parent", "staff")
    }
    page_url = f"{served.base}/calls/{call_id}/join"
    async with playwright_api.async_playwright() as pw:
        contexts = []
        try:
            pages = {}
            for person in ("supervisor", "parent", "staff"):
                context = await pw.chromium.launch_persistent_context(
                    str(tmp_path / f"chromium-{person}"),
                    executable_path=CHROMIUM,
                    headless=True,
                    args=FLAGS,
                )
                contexts.append(context)
                page = context.pages[0] if context.pages else await context.new_page()
                # This browser keeps the site's CSP, so no axe here (the sign-in and call
                # pages have their own accessibility tests).
                await sign_in(page, served, people[person], accessibility=False)
                if person == "supervisor":
                    await (
                        page.locator("#today-heading + table")
                        .get_by_role("link", name=re.compile("^Join the call with Sam"))
                        .click()
                    )
                elif person == "parent":
                    await page.get_by_role("link", name="Join the call").click()
                else:
                    # The child's screen opens only once staff lock the device to the call.
                    await open_child_call_screen(page, call_id, PASSWORD)
                await expect(page).to_have_url(page_url, timeout=TIMEOUT_MS)
                await page.click("#start")
                pages[person] = page
            supervisor, parent, child = pages["supervisor"], pages["parent"], pages["staff"]

            root = "#call"
            await expect(parent.locator(root)).to_have_attribute(
                "data-state", "waiting", timeout=TIMEOUT_MS
            )
            await expect(supervisor.locator("#state-parent")).to_have_text(
                "in the waiting room", timeout=TIMEOUT_MS
            )
            await expect(supervisor.locator("#state-child")).to_have_text(
                "in the call", timeout=TIMEOUT_MS
            )
            # Camera check: the supervisor sees the parent before admitting them.
            await until_true(supervisor, "document.getElementById('video-parent').videoWidth > 0")

            await supervisor.click("#admit")
            await expect(parent.locator(root)).to_have_attribute(
                "data-state", "live", timeout=TIMEOUT_MS
            )
            await until_true(child, "document.getElementById('video-parent').videoWidth > 0")
            await until_true(parent, "document.getElementById('video-child').videoWidth > 0")
            await expect(child.locator(root)).to_have_attribute("data-view", "parent")

            # Pause: the child gets the break screen at once, the parent the paused screen.
            await supervisor.click("#pause")
            await expect(child.locator(root)).to_have_attribute(
                "data-view", "paused", timeout=5_000
            )
            await expect(child.locator("#child-paused")).to_be_visible()
            await expect(child.locator("#video-parent")).to_be_hidden()
            await expect(parent.locator(root)).to_have_attribute(
                "data-state", "paused", timeout=5_000
            )
            await expect(child.locator("#stop")).to_be_visible()
            await supervisor.click("#resume")
            await expect(child.locator(root)).to_have_attribute(
                "data-view", "parent", timeout=5_000
            )
            await expect(child.locator("#video-parent")).to_be_visible()
            await expect(parent.locator(root)).to_have_attribute(
                "data-state", "live", timeout=5_000
            )

            # The console sees each leg's health; the heartbeats keep the call open meanwhile.
            await expect(supervisor.locator("#health-parent")).to_have_attribute(
                "data-state", "connected", timeout=TIMEOUT_MS
            )
            await until_true(
                supervisor,
                "parseFloat(document.querySelector('#health-parent [data-field=video_fps]')"
                ".textContent) > 0",
            )
            await expect(child.locator(root)).to_have_attribute("data-view", "parent")

            # The supervisor's page goes away: the child gets the break screen with the reason.
            await supervisor.reload()
            await expect(child.locator(root)).to_have_attribute(
                "data-view", "paused", timeout=5_000
            )
            await expect(child.locator("#child-paused-reason")).to_contain_text(
                "the supervisor has left"
            )
            await expect(parent.locator("#paused-reason")).to_contain_text(
                "the supervisor has left"
            )
            # Back, the supervisor sees why it paused; only their resume reopens it.
            await supervisor.click("#start")
            await expect(supervisor.locator("#state-route")).to_have_text(
                "paused: you left the call", timeout=TIMEOUT_MS
            )
            await expect(child.locator(root)).to_have_attribute("data-view", "paused")
            await expect(supervisor.locator("#connection-state")).to_have_text(
                "Connected", timeout=TIMEOUT_MS
            )
            await supervisor.click("#resume")
            await expect(child.locator(root)).to_have_attribute(
                "data-view", "parent", timeout=TIMEOUT_MS
            )

            await supervisor.select_option("#end-reason", "completed")
            await supervisor.click("#end")
            await supervisor.click("#end-yes")
            for page in (parent, child, supervisor):
                await expect(page.locator(root)).to_have_attribute(
                    "data-state", "ended", timeout=5_000
                )
                await expect(page.locator("#ended-title")).to_be_visible(timeout=5_000)
            await expect(parent.locator("#ended-reason")).to_have_text(
                "The supervisor has ended the call. Thank you for joining."
            )
            await expect(child.locator("#ended-reason")).to_have_text(
                "The call has finished. Thank you!"
            )
        finally:
            for context in contexts:
                await context.close()
