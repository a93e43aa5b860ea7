"""A moderator in a real browser, from the sign-in page by clicks and typing, opens the photo
from the queue, sees the personal details written in it, covers them with one press, and
approves: the delivered photo no longer shows them to tesseract."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Playwright, expect
from sqlalchemy import select

from service.appkeys import SESSIONMAKER, WORD_READER
from storage.models import ItemPart, PartKind
from tests.support.browser import (
    LiveApp,
    check_accessibility,
    new_browser,
    open_moderation_queue,
    review_from_queue,
    url_pattern,
)
from tests.support.centre_day import sign_in, signable
from tests.support.images import NOTE, POSTCODE, SCHOOL
from tests.support.letterbox_world import World, letter_form, make_world, read_stored

pytestmark = pytest.mark.browser


async def _send_photo(url: str, world: World) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/api/families/{world.family_id}/items",
            data=letter_form("", [("note.png", NOTE)]),
            # The live app's own address is its public address, so its Origin.
            headers=world.parent.headers(Origin=url),
        ) as response,
    ):
        body = await response.json()
        assert response.status == 201, body
        return str(body["item_id"])


async def test_moderator_covers_the_flagged_words_of_a_photo_with_one_press(
    live_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app, terms=[SCHOOL])
    item_id = await _send_photo(live_app.url, world)
    moderator = await signable(app, world.staff.user_id)
    context = await new_browser(playwright, tmp_path / "profile")
    try:
        page = await context.new_page()
        await sign_in(page, live_app, moderator)
        await open_moderation_queue(page)
        await review_from_queue(page, "Parent")
        await expect(page.get_by_text(f"“{POSTCODE}” (postcode)")).to_be_visible()
        await check_accessibility(page)

        holder = page.locator("[data-redact-picture]")
        await expect(holder.locator(".redact-box")).to_have_count(0)
        await page.get_by_role("button", name="Cover the flagged words in picture 1").click()
        await expect(holder.locator(".redact-box")).to_have_count(3)
        await expect(page.get_by_text("3 boxes added over the flagged words.")).to_be_visible()
        await page.get_by_role("button", name="Approve", exact=True).click()
        # Every flag is covered, so approving asks first: it cannot be undone.
        await page.get_by_role("button", name="Yes, approve and deliver").click()
        await expect(page).to_have_url(url_pattern(live_app, "/staff/moderation"))
    finally:
        await context.close()

    async with app[SESSIONMAKER]() as session:
        part = await session.scalar(
            select(ItemPart).where(
                ItemPart.item_id == uuid.UUID(item_id), ItemPart.kind == PartKind.IMAGE
            )
        )
        assert part is not None and part.delivered_object_id is not None
        delivered: uuid.UUID = part.delivered_object_id
    _, data = await read_stored(app, delivered)
    reader = app[WORD_READER]
    assert reader is not None
    read = await reader.read(data)
    assert read is not None and "We moved to" in read.text
    assert "SW1A" not in read.text and "Oakfield" not in read.text
