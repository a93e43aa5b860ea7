"""The whole first journey in real Chromium: an admin signs in with a TOTP code, records a
referral naming the parent, the court order and the places the risk concerns, and accepts it:
the parent is invited, the referrer given access, the places offered as private words; the
parent opens the invite link from the e-mail the
SMTP server caught, sets a password and lands on an empty letterbox. axe-core runs on every
page; screenshots of the main pages go to docs/screenshots/."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Page, Playwright, expect

from service.accounts.users import provision_demo_user
from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from storage.models import Centre, Role
from tests.support.browser import (
    TIMEOUT_MS,
    LiveApp,
    check_accessibility,
    new_browser,
    screenshot,
    url_pattern,
)

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@centre.example"
ADMIN_PASSWORD = "a long admin passphrase"
PARENT_EMAIL = "pat.parent@example.org"
PARENT_PASSWORD = "kites over the river 42"


async def _seed_admin(live: LiveApp) -> str:
    app = live.server.app
    secret = pyotp.random_base32()
    async with app[SESSIONMAKER].begin() as session:
        centre = Centre(id=uuid.uuid4(), name="Riverside Contact Centre")
        session.add(centre)
        await session.flush()
        await provision_demo_user(
            session,
            app[SETTINGS],
            app[KEYRING],
            centre_id=centre.id,
            email=ADMIN_EMAIL,
            display_name="Alex Admin",
            role=Role.ADMIN,
            password=ADMIN_PASSWORD,
            totp_secret=secret,
        )
    return secret


async def _visit(page: Page, name: str | None = None) -> None:
    await check_accessibility(page)
    if name is not None:
        await screenshot(page, name)


async def test_admin_invites_parent_who_lands_on_empty_letterbox(
    live_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    live = live_app
    secret = await _seed_admin(live)

    admin = await new_browser(playwright, tmp_path / "admin-profile")
    try:
        page = await admin.new_page()
        await page.goto(live.url + "/sign-in")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await _visit(page, "sign-in")
        await page.get_by_label("Email address").fill(ADMIN_EMAIL)
        await page.get_by_label("Password").fill(ADMIN_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()

        await expect(page).to_have_url(url_pattern(live, "/two-factor"), timeout=TIMEOUT_MS)
        await _visit(page, "two-factor")
        await page.get_by_label(re.compile("code", re.I)).first.fill(pyotp.TOTP(secret).now())
        await page.get_by_role("button", name="Continue").click()

        await expect(page).to_have_url(url_pattern(live, "/admin"), timeout=TIMEOUT_MS)
        await expect(page.get_by_role("heading", name="Centre dashboard")).to_be_visible()
        await _visit(page, "admin-dashboard")

        # Record a referral.
        await page.get_by_role("link", name="Record a referral").click()
        await expect(page.get_by_role("heading", name="Record a referral")).to_be_visible()
        await _visit(page)
        await page.get_by_label("Kind of referral").select_option("social_worker")
        await page.get_by_label("Name of the person referring").fill("Dana Okafor")
        await page.get_by_label("Their organisation").fill("Northshire Children's Services")
        await page.get_by_label("Their e-mail address").fill("dana.okafor@northshire.example")
        await page.get_by_label("Court order reference (if there is one)").fill("NS24C00042")
        await page.get_by_label("Child 1: name").fill("Zephyrine")
        await page.get_by_label("Child 1: year of birth").fill("2017")
        await page.get_by_label("Supervised: staff observe and write notes").check()
        await page.get_by_label("Video calls").check()
        await page.get_by_label("Known risks").fill("The new school must not be disclosed.")
        # The referral names the parent and the places the risk concerns: they carry through.
        await page.get_by_label("Parent 1: full name").fill("Pat Parent")
        await page.get_by_label("Parent 1: e-mail address").fill(PARENT_EMAIL)
        await page.get_by_label("Parent 1: relationship to the child").fill("Father")
        await page.get_by_label("Places and names the risk concerns").fill(
            "Hillcrest Academy\nMill Lane"
        )
        await screenshot(page, "record-referral")
        await page.get_by_role("button", name="Record the referral").click()

        await expect(page.get_by_role("status")).to_have_text("The referral was recorded.")
        await _visit(page, "referral")
        await page.get_by_role("button", name="Accept and create the family").click()

        await expect(
            page.get_by_role("heading", name=re.compile(r"^Family LB-\d{4}-0001$"))
        ).to_be_visible()
        await expect(page.get_by_role("status")).to_contain_text(
            "The referral was accepted and the family was created."
        )
        # The parent was invited and the referrer given access, by accepting alone.
        await expect(page.get_by_role("cell", name=re.compile("^Pat Parent"))).to_be_visible()
        await expect(page.get_by_role("cell", name=re.compile("^Dana Okafor"))).to_be_visible()
        await expect(page.locator("#court-order")).to_contain_text("NS24C00042")
        await _visit(page)
        # The places the risk concerns are offered as private words; one press adds one.
        await page.get_by_role("button", name="Add “Mill Lane” to the list").click()
        await expect(page.get_by_role("status")).to_have_text(
            "The word or phrase was added to the private list."
        )
        await expect(page.get_by_role("button", name="Add “Mill Lane” to the list")).to_have_count(
            0
        )
        await expect(
            page.get_by_role("button", name="Add “Hillcrest Academy” to the list")
        ).to_be_visible()
        await _visit(page, "family")
    finally:
        await admin.close()

    # The e-mail, caught by the real SMTP server: a link and nothing about the child.
    # (The referrer's invite goes out too: two e-mails.)
    messages = await asyncio.to_thread(live.inbox.wait_for, 2)
    (message,) = [m for m in messages if m["To"] == PARENT_EMAIL]
    body = message.get_content()
    assert "Zephyrine" not in body and "Zephyrine" not in str(message["Subject"])
    found = re.search(re.escape(live.url) + r"/invite/[A-Za-z0-9_\-]+", body)
    assert found, body

    parent = await new_browser(playwright, tmp_path / "parent-profile", phone=True)
    try:
        page = await parent.new_page()
        await page.goto(found.group(0))
        await expect(page.locator("#password")).to_be_visible()
        await _visit(page, "parent-set-password")
        await page.locator("#password").fill(PARENT_PASSWORD)
        await page.locator("#confirm").fill(PARENT_PASSWORD)
        await page.get_by_role("button", name="Save password").click()

        await expect(page).to_have_url(url_pattern(live, "/letterbox"), timeout=TIMEOUT_MS)
        await expect(page.get_by_role("heading", name="My letterbox")).to_be_visible()
        await expect(page.get_by_text("You have not sent anything yet.")).to_be_visible()
        await _visit(page, "parent-letterbox-phone")
    finally:
        await parent.close()
