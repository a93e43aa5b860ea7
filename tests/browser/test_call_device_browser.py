"""The locked call device in real Chromium.

A staff member signs in on the centre device, opens the child's screen of a booked call with
their password, and hands the device to the child. From the child's call page, typed addresses
(the adversary here is whoever holds the device) reach nothing else of the site: not the
moderation queue, not the family's pages, not staff pages, not a letter, not the API. The call
runs and ends; the goodbye shows; a wrong staff password keeps the device locked, the right one
brings the staff member back to their calls.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pyotp
import pytest
from playwright.async_api import Page, Playwright, expect

from service.accounts.users import provision_demo_user
from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from storage.models import Role
from tests.support.browser import (
    FAKE_MEDIA_ARGS,
    TIMEOUT_MS,
    LiveApp,
    check_accessibility,
    live_call_app,
    new_browser,
    url_pattern,
)
from tests.support.calls import CallWorld, Signal, book_call, cookie_header, make_world
from tests.support.smtp import Inbox
from tests.support.synthetic_calls import wait_until

pytestmark = pytest.mark.browser

STAFF_EMAIL = "robin.staff@centre.example"
STAFF_PASSWORD = "lanterns along the canal 7"


@pytest.fixture
async def call_app(database_url: str, tmp_path: Path, smtp_server: Inbox) -> AsyncIterator[LiveApp]:
    async with live_call_app(database_url, tmp_path / "data", smtp_server) as live:
        yield live


async def _staff_with_password(live: LiveApp, world: CallWorld) -> str:
    app = live.server.app
    secret = pyotp.random_base32()
    async with app[SESSIONMAKER].begin() as session:
        await provision_demo_user(
            session,
            app[SETTINGS],
            app[KEYRING],
            centre_id=world.centre_id,
            email=STAFF_EMAIL,
            display_name="Robin Staff",
            role=Role.STAFF,
            password=STAFF_PASSWORD,
            totp_secret=secret,
        )
    return secret


async def _sign_in(page: Page, live: LiveApp, secret: str) -> None:
    await page.goto(live.url + "/sign-in")
    await page.get_by_label("Email address").fill(STAFF_EMAIL)
    await page.get_by_label("Password").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url_pattern(live, "/two-factor"))
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(url_pattern(live, "/staff"))


async def test_locked_call_device_shows_only_the_call_until_the_staff_password(
    call_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    live = call_app
    app = live.server.app
    world = await make_world(app)
    secret = await _staff_with_password(live, world)
    call_id = await book_call(app, world)
    other_call = await book_call(app, world)
    call_page = url_pattern(live, f"/calls/{call_id}/join")

    browser = await new_browser(playwright, tmp_path / "centre-device", extra_args=FAKE_MEDIA_ARGS)
    supervisor: Signal | None = None
    http = aiohttp.ClientSession()
    try:
        page = await browser.new_page()
        await _sign_in(page, live, secret)

        # Staff open the child's screen of the booked call, with their password.
        await page.get_by_role("link", name="Video calls").click()
        await expect(page.get_by_role("heading", name="Video calls")).to_be_visible()
        row = page.locator(f'tr[data-call-id="{call_id}"]')
        await row.get_by_role("link", name="Open the child's call screen").click()
        await expect(
            page.get_by_role("heading", name="Open the child's call on this device")
        ).to_be_visible()
        await check_accessibility(page)
        await page.get_by_label("Your password").fill("not my password")
        await page.get_by_role("button", name="Lock this device to the call").click()
        await expect(page.get_by_role("alert")).to_have_text(re.compile("password is not right"))
        await page.get_by_label("Your password").fill(STAFF_PASSWORD)
        await page.get_by_role("button", name="Lock this device to the call").click()
        await expect(page).to_have_url(call_page)
        await expect(page.locator("#call")).to_have_attribute("data-role", "child")

        # The adversary holds the device: every other address of the site leads back here.
        for path in (
            "/staff/moderation",
            "/staff",
            f"/staff/families/{world.family_id}/letterbox",
            f"/families/{world.family_id}/letterbox",
            f"/admin/families/{world.family_id}",
            f"/staff/moderation/items/{uuid.uuid4()}",
            "/calls",
            f"/calls/{call_id}/edit",
            f"/calls/{other_call}/join",
            "/api/moderation/queue",
            "/api/v1/calls",
            "/account/password",
            "/",
        ):
            await page.goto(live.url + path)
            await expect(page).to_have_url(call_page)
            await expect(page.locator("#call")).to_have_attribute("data-role", "child")
        # The page's own scripts cannot fetch the API either: they get the call page back.
        landed = await page.evaluate(
            "async () => { const r = await fetch('/api/moderation/queue',"
            " {headers: {Accept: 'application/json'}}); return r.url; }"
        )
        assert re.match(call_page, landed), landed

        # The child's call: staff press Start, the supervisor sees the child, then ends it.
        await page.get_by_role("button", name="Start").click()
        ws = await http.ws_connect(
            f"{live.url}/calls/{call_id}/signal",
            headers=cookie_header(app, world.cookies["supervisor"]),
        )
        supervisor = Signal(ws)
        await supervisor.wait_for("state")

        sup = supervisor
        await wait_until(
            lambda: "child" in sup.of_type("state")[-1]["participants"],
            within=TIMEOUT_MS / 1000,
            what="the child in the call",
        )
        await supervisor.send({"type": "end", "reason": "completed"})
        await expect(page.locator("#call")).to_have_attribute("data-state", "ended")
        await expect(page.locator("#ended-title")).to_be_visible()
        await expect(page.get_by_role("link", name="Back to calls")).to_have_count(0)
        await check_accessibility(page)

        # After the goodbye the device is still locked: the adversary types a staff address.
        await page.goto(live.url + "/staff/moderation")
        await expect(page).to_have_url(call_page)
        await expect(page.locator("#ended-title")).to_be_visible()

        # Leaving: a wrong password keeps the device here, the right one returns to staff.
        await page.get_by_text("Staff", exact=True).click()
        await page.get_by_label("Staff password to leave this screen").fill("let me out")
        await page.get_by_role("button", name="Leave the call screen").click()
        await expect(page.locator("#staff-password-error")).to_have_text(
            re.compile("password is not right")
        )
        # The adversary types a staff address again after the wrong password: still locked.
        await page.goto(live.url + "/staff/moderation")
        await expect(page).to_have_url(call_page)
        await page.get_by_text("Staff", exact=True).click()
        await page.get_by_label("Staff password to leave this screen").fill(STAFF_PASSWORD)
        await page.get_by_role("button", name="Leave the call screen").click()
        await expect(page).to_have_url(url_pattern(live, "/calls"))
        await page.get_by_role("link", name="Moderation queue").click()
        await expect(page).to_have_url(url_pattern(live, "/staff/moderation"))
        # Unlocked again, this browser is no child's screen: someone typing the call's address
        # (an adversary, not a journey) is asked for the password that locks a device.
        await page.goto(live.url + f"/calls/{other_call}/join")
        await expect(page).to_have_url(url_pattern(live, f"/calls/{other_call}/device"))
        await expect(page.locator("#call")).to_have_count(0)
    finally:
        if supervisor is not None:
            await supervisor.close()
        await http.close()
        await browser.close()
