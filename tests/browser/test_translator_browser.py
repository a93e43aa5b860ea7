"""A translator in real Chromium, from the sign-in page by clicks and typing only: the admin
assigns them to one family from the family's page; they sign in with their password and
authenticator code, find only that family's letter waiting at their home, open it and
approve it. Another family's letter, waiting at the same centre, is never shown to them.
axe-core checks every page on the way."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Playwright, expect
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from storage.models import Family, Item, ItemStatus, RecordEvent, Role
from tests.support.browser import (
    TIMEOUT_MS,
    LiveApp,
    check_accessibility,
    laptop,
    launch,
    review_from_queue,
    url_pattern,
)
from tests.support.centre_day import browser_person, parent_sends, sign_in
from tests.support.letterbox_world import make_world

pytestmark = pytest.mark.browser

MINE = "Querida Sam, el domingo fuimos al parque y dimos de comer a los patos. Papá"
OTHERS = "Annwyl Sam, aethon ni i'r parc ddydd Sul a bwydo'r hwyaid. Dad"


async def test_admin_assigns_a_translator_who_approves_only_that_familys_letter(
    live_app: LiveApp, playwright: Playwright
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    other = await make_world(app, centre_id=world.centre_id)
    mine_id = await parent_sends(live_app, world, MINE)
    others_id = await parent_sends(live_app, other, OTHERS)
    admin = await browser_person(app, world.centre_id, Role.ADMIN, "Alex Admin")
    tamsin = await browser_person(app, world.centre_id, Role.TRANSLATOR, "Tamsin Translator")
    async with app[SESSIONMAKER]() as session:
        family = await session.get(Family, world.family_id)
        assert family is not None
        reference = family.case_reference

    browser = await launch(playwright)
    try:
        # The admin: Families, the family, its Translators section, one choice and a press.
        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, admin)
        await (
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Families").click()
        )
        await page.get_by_role("link", name=reference).click()
        await expect(page.get_by_role("heading", name=f"Family {reference}")).to_be_visible()
        section = page.locator("section", has=page.get_by_role("heading", name="Translators"))
        await expect(section).to_contain_text("No translator moderates this family's items.")
        await section.get_by_label("Translator").select_option(
            label=f"Tamsin Translator ({tamsin.email})"
        )
        await section.get_by_role("button", name="Let them moderate this family's items").click()
        await expect(page.get_by_text("The translator can now moderate")).to_be_visible()
        await expect(page.locator("#assigned-translators")).to_contain_text("Tamsin Translator")
        await check_accessibility(page)

        # The translator: their home is the list of their families' letters, and only those.
        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, tamsin)
        await expect(page.get_by_role("heading", name="Waiting for review")).to_be_visible()
        await expect(page.locator("#queue-summary")).to_contain_text("1 item is waiting")
        await expect(page.get_by_role("row").filter(has_text="Querida Sam")).to_have_count(1)
        await expect(page.get_by_text("Annwyl Sam")).to_have_count(0)
        family_filter = page.get_by_label("Family")
        await expect(family_filter.locator("option")).to_have_count(2)  # all, and theirs
        await review_from_queue(page, "Querida Sam")
        await expect(page.locator("#claim")).to_contain_text("You are reviewing this")
        await expect(page.get_by_text(MINE)).not_to_have_count(0)
        await expect(
            page.get_by_role("link", name=re.compile("safeguarding concern"))
        ).to_have_count(0)
        await check_accessibility(page)
        await page.get_by_role("button", name="Approve", exact=True).click()
        dialog = page.get_by_role("dialog", name="Approve and deliver?")
        await dialog.get_by_role("button", name="Yes, approve and deliver").click()
        await expect(page).to_have_url(url_pattern(live_app, "/translator"), timeout=TIMEOUT_MS)
        await expect(page.locator("#queue-summary")).to_contain_text("Nothing is waiting")
        await check_accessibility(page)
    finally:
        await browser.close()

    async with app[SESSIONMAKER]() as session:
        mine = await session.get(Item, mine_id)
        others = await session.get(Item, others_id)
        assert mine is not None and others is not None
        assert mine.status is ItemStatus.APPROVED
        assert others.status is ItemStatus.IN_REVIEW
        kinds = list(
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.family_id == world.family_id)
                .order_by(RecordEvent.seq)
            )
        )
    assert "translator_assigned" in kinds and "item_moderated" in kinds
