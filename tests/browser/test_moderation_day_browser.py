"""A support worker's moderation in real Chromium, from the sign-in page by clicks and typing
only: from home to the queue, words blacked out by selecting them, a box drawn with the mouse
and another added and moved by keyboard, the preview matching what is delivered; and two
moderators on one item, the second seeing the claim before typing and taking it over only by
pressing. axe-core checks every page on the way."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.async_api import Page, Playwright, expect
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from storage.models import Item, ItemClaim, ItemPart, ItemStatus, PartKind, Role
from tests.support.browser import LiveApp, check_accessibility, laptop, launch, url_pattern
from tests.support.centre_day import browser_person, parent_sends, sign_in
from tests.support.letterbox_world import make_world, picture, read_stored

pytestmark = pytest.mark.browser

PLACE = "Oakfield Park"
LETTER = f"Dear Sam, on Sunday we walked round {PLACE} and fed the ducks. Love from Dad"
YELLOW = (240, 200, 40)


async def _select_words(page: Page, holder: str, words: str) -> None:
    """Select ``words`` in the letter with the mouse: press at their first letter, drag to
    their last, as a person would."""
    await page.locator(holder).scroll_into_view_if_needed()
    box = await page.evaluate(
        """([selector, words]) => {
            const holder = document.querySelector(selector);
            const walker = document.createTreeWalker(holder, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const at = node.textContent.indexOf(words);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + words.length);
                const rects = range.getClientRects();
                const first = rects[0], last = rects[rects.length - 1];
                return {x0: first.left + 1, y0: first.top + first.height / 2,
                        x1: last.right - 1, y1: last.top + last.height / 2};
            }
            return null;
        }""",
        [holder, words],
    )
    assert box is not None, f"{words!r} is not in the letter"
    # (The letter is scrolled into view first; the range's rectangles are read after.)
    await page.mouse.move(box["x0"], box["y0"])
    await page.mouse.down()
    await page.mouse.move(box["x1"], box["y1"], steps=8)
    await page.mouse.up()


async def _resolve_other_flags(page: Page) -> None:
    """Anything else the scanner flagged is passed as safe with a reason."""
    open_flags = page.locator("fieldset.flag-choice").filter(has_text="Not covered yet")
    while await open_flags.count():
        await open_flags.first.get_by_label("Why it is safe to pass").fill("Ordinary words")


async def test_moderator_blacks_out_selected_words_and_boxes_and_the_delivered_copy_is_the_preview(
    live_app: LiveApp, playwright: Playwright
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    item_id = await parent_sends(
        live_app, world, LETTER, [("ducks.png", picture((200, 120), YELLOW))]
    )
    robin = await browser_person(app, world.centre_id, Role.STAFF, "Robin Staff")

    browser = await launch(playwright)
    try:
        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, robin)
        await expect(page.locator("#queue-count")).to_have_text("1 item is waiting to be checked.")
        await page.get_by_role("link", name="Open the list waiting for review").click()
        await expect(page.get_by_role("heading", name="Waiting for review")).to_be_visible()
        row = page.get_by_role("row").filter(has_text="Dear Sam, on Sunday")
        # The row says whose, from whom, and how it starts.
        await expect(row).to_contain_text("Sam")
        await expect(row).to_contain_text("Parent")
        await expect(row).to_contain_text("Dear Sam, on Sunday we walked")
        await check_accessibility(page)
        await row.get_by_role("link", name=re.compile("^Review")).click()
        await expect(page.locator("#claim")).to_contain_text("You are reviewing this")
        await check_accessibility(page)

        # Words: selected with the mouse, then one press.
        await _select_words(page, "#letter-text", PLACE)
        await page.get_by_role("button", name="Black out the selected words").click()
        await expect(page.locator("#chosen-words")).to_contain_text(f"“{PLACE}”")
        preview = page.locator("#preview-text")
        await expect(preview).not_to_contain_text(PLACE)
        await expect(preview).to_contain_text("█████")

        # A box drawn with the mouse over the top-left of the picture.
        overlay = page.locator("[data-redact-picture] .redact-overlay")
        await overlay.scroll_into_view_if_needed()
        area = await overlay.bounding_box()
        assert area is not None
        await page.mouse.move(area["x"] + area["width"] * 0.1, area["y"] + area["height"] * 0.1)
        await page.mouse.down()
        await page.mouse.move(
            area["x"] + area["width"] * 0.5, area["y"] + area["height"] * 0.5, steps=6
        )
        await page.mouse.up()
        await expect(page.get_by_text(re.compile(r"^Box added: \d+ by \d+ pixels"))).to_be_visible()
        # And one by keyboard: added in the middle, moved down with an arrow key.
        await page.get_by_role("button", name="Add a box to picture 1").click()
        await page.get_by_role("button", name="Move the newest box down").focus()
        await page.keyboard.press("ArrowDown")
        await expect(page.get_by_text(re.compile("^Newest box: "))).to_be_visible()
        await expect(page.locator(".preview-box")).to_have_count(2)
        await expect(page.locator("[data-preview-count]")).to_have_text("2 boxes filled in black.")

        await _resolve_other_flags(page)
        shown = await preview.inner_text()
        await check_accessibility(page)
        await page.get_by_role("button", name="Approve", exact=True).click()
        dialog = page.get_by_role("dialog", name="Approve and deliver?")
        await expect(dialog).to_contain_text("1 stretch of words blacked out and 2 boxes")
        await check_accessibility(page)
        await dialog.get_by_role("button", name="Yes, approve and deliver").click()
        await expect(page).to_have_url(url_pattern(live_app, "/staff/moderation"))
        await expect(page.locator("#queue-summary")).to_contain_text("Nothing is waiting")
        await check_accessibility(page)
    finally:
        await browser.close()

    async with app[SESSIONMAKER]() as session:
        item = await session.get(Item, item_id)
        assert item is not None and item.status is ItemStatus.APPROVED
        parts = (
            await session.scalars(
                select(ItemPart).where(ItemPart.item_id == item_id).order_by(ItemPart.position)
            )
        ).all()
    text_part = next(p for p in parts if p.kind is PartKind.TEXT)
    image_part = next(p for p in parts if p.kind is PartKind.IMAGE)
    assert text_part.delivered_object_id and image_part.delivered_object_id
    _, delivered_text = await read_stored(app, text_part.delivered_object_id)
    # Exactly what the preview showed.
    assert delivered_text.decode() == shown
    assert PLACE not in delivered_text.decode()
    _, delivered_image = await read_stored(app, image_part.delivered_object_id)
    image = Image.open(io.BytesIO(delivered_image)).convert("RGB")
    # Inside the drawn box (20%–50% of the picture) black; far outside both, still yellow.
    assert image.getpixel((int(image.width * 0.3), int(image.height * 0.3))) == (0, 0, 0)
    corner = image.getpixel((image.width - 5, 5))
    assert isinstance(corner, tuple) and all(
        abs(c - y) < 40 for c, y in zip(corner, YELLOW, strict=True)
    )


async def test_second_moderator_sees_the_claim_before_typing_and_takes_it_over_only_by_pressing(
    live_app: LiveApp, playwright: Playwright
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    item_id = await parent_sends(live_app, world, "Dear Sam, I hope school was fun. Dad")
    robin = await browser_person(app, world.centre_id, Role.STAFF, "Robin Staff")
    kim = await browser_person(app, world.centre_id, Role.STAFF, "Kim Staff")
    message = "Please leave out where you work."

    browser = await launch(playwright)
    try:
        first = await (await laptop(browser)).new_page()
        await sign_in(first, live_app, robin)
        await first.get_by_role("link", name="Open the list waiting for review").click()
        await first.get_by_role("link", name=re.compile("^Review")).click()
        await expect(first.locator("#claim")).to_contain_text("You are reviewing this")
        await first.get_by_label(re.compile("^Message for the sender")).fill(message)

        second = await (await laptop(browser)).new_page()
        await sign_in(second, live_app, kim)
        await second.get_by_role("link", name="Open the list waiting for review").click()
        # In the queue, before opening anything.
        await expect(second.get_by_role("row").filter(has_text="Dear Sam")).to_contain_text(
            "Robin Staff is reviewing this"
        )
        await check_accessibility(second)
        await second.get_by_role("link", name=re.compile("^Review")).click()
        # On the item, before typing anything: the claim, and nothing to type into.
        banner = second.get_by_role("alert")
        await expect(banner).to_contain_text("Robin Staff is reviewing this")
        await expect(second.get_by_label(re.compile("^Message for the sender"))).to_be_disabled()
        await expect(second.get_by_role("button", name="Return to the sender")).to_be_disabled()
        await check_accessibility(second)
        await second.get_by_role("button", name="Take over from Robin Staff").click()
        await expect(second.locator("#claim")).to_contain_text("You are reviewing this")
        await expect(second.locator("#claim-history")).to_contain_text(
            "Kim Staff took this item over from Robin Staff."
        )
        await expect(second.get_by_label(re.compile("^Message for the sender"))).to_be_enabled()
        await check_accessibility(second)

        # Robin, who did not see the take-over happen, decides: refused, and told by whom,
        # with the message they typed still on the page.
        await first.get_by_role("button", name="Return to the sender").click()
        await expect(first.locator(".error-summary")).to_contain_text(
            "Kim Staff has been reviewing this item"
        )
        await expect(first.locator("#claim")).to_contain_text("Kim Staff is reviewing this")
        await expect(first.get_by_label(re.compile("^Message for the sender"))).to_have_value(
            message
        )
        await check_accessibility(first)
    finally:
        await browser.close()

    async with app[SESSIONMAKER]() as session:
        item = await session.get(Item, item_id)
        assert item is not None and item.status is ItemStatus.IN_REVIEW
        claims = (
            await session.scalars(
                select(ItemClaim).where(ItemClaim.item_id == item_id).order_by(ItemClaim.claimed_at)
            )
        ).all()
    assert [c.moderator_id for c in claims] == [robin.user_id, kim.user_id]
    assert claims[0].released_at is not None
    assert claims[1].taken_over_from == robin.user_id and claims[1].released_at is None
