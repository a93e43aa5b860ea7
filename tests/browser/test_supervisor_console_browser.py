"""The supervisor console passes axe-core in every state of a call: the supervisor signs in
with a code, presses Join on today's call from home, and the console is checked before the
camera starts, with the parent in the waiting room, admitted, paused, resumed and ended. The
parent and the child's centre device are real Chromium pages with fake cameras, signed in and
on their call page by clicks too (the parent's Join on their home, the staff's "Video calls";
their own journeys have their own tests)."""

from __future__ import annotations

import re
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Playwright, expect

from service.app import create_app
from storage.models import Role
from tests.support.browser import check_accessibility, laptop, launch, open_child_call_screen
from tests.support.calls import CallWorld, book_call, make_world
from tests.support.centre_day import PASSWORD, browser_person, sign_in, signable
from tests.support.settings import make_settings

pytestmark = pytest.mark.browser

MEDIA_FLAGS = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
)
CALL_TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    app: web.Application
    url: str
    world: CallWorld


@pytest.fixture
async def served(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Served]:
    # Media needs the node's ICE address on loopback, as in the three-browser call test.
    database = tmp_path / "letterbox.db"
    shutil.copy(sqlite_template, database)
    port = _free_port()
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
        yield Served(app, base, await make_world(app))
    finally:
        await runner.cleanup()


async def test_supervisor_console_passes_axe_in_every_call_state(
    served: Served, playwright: Playwright
) -> None:
    live, world, app = served, served.world, served.app
    sky = await browser_person(app, world.centre_id, Role.SUPERVISOR, "Sky Supervisor")
    world.users["supervisor"] = sky.user_id
    call_id = await book_call(app, world)
    parent = await signable(app, world.users["parent"])
    staff = await signable(app, world.users["staff"])

    browser = await launch(playwright, *MEDIA_FLAGS)
    try:
        console = await (await laptop(browser)).new_page()
        await sign_in(console, live, sky)
        await (
            console.locator("#today-heading + table")
            .get_by_role("link", name=re.compile("^Join the call with Sam"))
            .click()
        )
        await expect(console.get_by_role("heading", name="Supervisor console")).to_be_visible()
        await check_accessibility(console)  # before the camera starts
        await console.get_by_role(
            "button", name="Start the console (camera and microphone)"
        ).click()
        await expect(console.get_by_role("button", name="Admit the parent")).to_be_visible()
        await check_accessibility(console)  # live, nobody else here

        others = {}
        for person in (parent, staff):
            page = await (await laptop(browser)).new_page()
            await sign_in(page, live, person)
            if person is parent:
                await page.get_by_role("link", name="Join the call").click()
            else:
                # The child's screen opens only once staff lock the device to the call.
                await open_child_call_screen(page, call_id, PASSWORD)
            await page.click("#start")
            others[person.role.value] = page
        await expect(console.locator("#state-parent")).to_have_text(
            "in the waiting room", timeout=CALL_TIMEOUT_MS
        )
        await check_accessibility(console)  # the parent waiting

        await console.get_by_role("button", name="Admit the parent").click()
        await expect(others["parent"].locator("#call")).to_have_attribute(
            "data-state", "live", timeout=CALL_TIMEOUT_MS
        )
        await check_accessibility(console)  # admitted
        await console.get_by_role("button", name="Pause parent to child").click()
        await expect(others["parent"].locator("#call")).to_have_attribute(
            "data-state", "paused", timeout=CALL_TIMEOUT_MS
        )
        await check_accessibility(console)  # paused
        await console.get_by_role("button", name="Resume").click()
        await expect(others["parent"].locator("#call")).to_have_attribute(
            "data-state", "live", timeout=CALL_TIMEOUT_MS
        )
        await console.get_by_label("Choose a ready warning").select_option(index=1)
        await check_accessibility(console)  # resumed, a warning chosen
        await console.get_by_label("End the call").select_option("completed")
        await console.get_by_role("button", name="End the call…").click()
        await expect(console.get_by_role("button", name="Yes, end it now")).to_be_visible()
        await check_accessibility(console)  # asked to confirm the end
        await console.get_by_role("button", name="Yes, end it now").click()
        await expect(console.locator("#call")).to_have_attribute(
            "data-state", "ended", timeout=CALL_TIMEOUT_MS
        )
        await check_accessibility(console)  # ended
    finally:
        await browser.close()
