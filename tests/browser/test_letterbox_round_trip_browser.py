"""The whole letterbox round trip in real Chromium, one browser profile per person and device,
each signed in from the sign-in page and walking by clicks and typing: a parent sends a letter
with a GPS-tagged photo; a moderator selects the postcode in the text, draws a box on the photo
and approves; a second moderator confirms; staff start an opening session on the centre device,
where the child sees the redacted letter and the boxed photo and nothing else is reachable; the
child replies; the reply is moderated by two others than the person who typed it; the parent
reads it. axe-core runs on every page; screenshots of the moderation page, the child view and
the parent's view go to docs/screenshots/."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import BrowserContext, Page, Playwright, expect
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from service.letterbox.redaction import BLOCK
from storage.models import ContactLevel, Direction, Item, ItemOpening, ItemStatus
from tests.support import images
from tests.support.browser import (
    LiveApp,
    check_accessibility,
    new_browser,
    open_moderation_queue,
    review_from_queue,
    screenshot,
    url_pattern,
)
from tests.support.centre_day import PASSWORD, BrowserPerson, sign_in, signable
from tests.support.letterbox_world import make_world

pytestmark = pytest.mark.browser

LETTER = "Dear Sam, we live at LS6 2AB now. I hope school is fun. Love, Dad"
POSTCODE = "LS6 2AB"
PHOTO_SIZE = (800, 600)
REPLY = "Thank you Dad! I drew you a cat."


async def _visit(page: Page, screenshot_name: str | None = None) -> None:
    await check_accessibility(page)
    if screenshot_name is not None:
        await screenshot(page, screenshot_name)


async def _item_ids(live: LiveApp, direction: Direction) -> list[uuid.UUID]:
    app = live.server.app
    async with app[SESSIONMAKER]() as session:
        return list(
            (
                await session.scalars(
                    select(Item.id).where(Item.direction == direction).order_by(Item.submitted_at)
                )
            ).all()
        )


async def _status(live: LiveApp, item_id: uuid.UUID) -> ItemStatus:
    async with live.server.app[SESSIONMAKER]() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        return item.status


async def test_letter_round_trip_through_the_browser(
    live_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    live = live_app
    app = live.server.app
    assert app is not None
    world = await make_world(app, level=ContactLevel.SUPERVISED, second_approval=True)
    parent_account = await signable(app, world.parent.user_id)
    staff = await signable(app, world.staff.user_id)
    staff2 = await signable(app, world.staff2.user_id)
    admin_account = await signable(app, world.admin.user_id)
    contexts: list[BrowserContext] = []

    async def open_as(
        person: BrowserPerson, name: str, *, phone: bool = False, second_device: bool = False
    ) -> Page:
        """A fresh browser profile, signed in from the sign-in page: the person's home."""
        context = await new_browser(playwright, tmp_path / name, phone=phone)
        contexts.append(context)
        page = await context.new_page()
        await sign_in(page, live, person, second_device=second_device)
        return page

    try:
        # 1. The parent writes a letter and attaches a photo carrying GPS.
        parent = await open_as(parent_account, "parent", phone=True)
        await parent.get_by_role("link", name="Write a letter").click()
        await expect(parent.get_by_role("heading", name="Write a letter")).to_be_visible()
        await _visit(parent)
        await parent.get_by_label("Your letter", exact=True).fill(LETTER)
        await parent.locator("#letter-files").set_input_files(
            [
                {
                    "name": "garden.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": images.jpeg_with_everything(PHOTO_SIZE),
                }
            ]
        )
        await parent.get_by_role("button", name="Send letter").click()
        # Sent: the parent is back on their home, where the letter is being checked.
        await expect(parent.get_by_role("heading", name="My letterbox")).to_be_visible()
        await expect(parent.locator(".conversation li").first).to_contain_text("Being checked")
        [letter_id] = await _item_ids(live, Direction.TO_CHILD)

        # 2. The first moderator finds it in the queue and opens it.
        first = await open_as(staff, "moderator-one")
        await open_moderation_queue(first)
        await expect(first.get_by_role("heading", name="Waiting for review")).to_be_visible()
        await _visit(first)
        await first.get_by_role("link", name="Review").click()
        await expect(first.get_by_role("heading", name="Letter to the child")).to_be_visible()
        await expect(first.get_by_text("GPS position removed")).to_be_visible()

        # Select the postcode in the letter (the Selection API, as a mouse selection makes)
        # and black it out.
        await first.locator("#letter-text mark[title=postcode]").evaluate(
            "mark => document.getSelection().setBaseAndExtent("
            "mark.firstChild, 0, mark.firstChild, mark.firstChild.length)"
        )
        await first.get_by_role("button", name="Black out the selected words").click()
        start = LETTER.index(POSTCODE)
        await expect(first.locator("#extra_spans")).to_have_value(
            f"{start}-{start + len(POSTCODE)}"
        )
        await expect(first.locator("#text-status")).to_contain_text(f"“{POSTCODE}” will be")

        # Draw a box over part of the photo with the pointer.
        holder = first.locator("[data-redact-picture]")
        boxes = first.locator("textarea.boxes-input")
        picture = holder.locator("img")
        await expect(picture).to_have_js_property("complete", True)
        await picture.scroll_into_view_if_needed()
        bounds = await picture.bounding_box()
        assert bounds is not None
        left, top = bounds["x"] + bounds["width"] * 0.25, bounds["y"] + bounds["height"] * 0.25
        right, bottom = bounds["x"] + bounds["width"] * 0.6, bounds["y"] + bounds["height"] * 0.6
        await first.mouse.move(left, top)
        await first.mouse.down()
        await first.mouse.move((left + right) / 2, (top + bottom) / 2, steps=4)
        await first.mouse.move(right, bottom, steps=4)
        await first.mouse.up()
        await expect(boxes).to_have_value(re.compile(r"^\d+,\d+,\d+,\d+$"))
        await expect(holder.locator(".redact-box")).to_have_count(1)
        x, y, w, h = (int(v) for v in (await boxes.input_value()).split(","))
        # Scaled to the photo's own pixels, whatever size it is shown at.
        assert abs(x - PHOTO_SIZE[0] * 0.25) <= 4 and abs(y - PHOTO_SIZE[1] * 0.25) <= 4
        assert abs(w - PHOTO_SIZE[0] * 0.35) <= 5 and abs(h - PHOTO_SIZE[1] * 0.35) <= 5
        await _visit(first, "letterbox-moderation")
        await first.get_by_role("button", name="Approve", exact=True).click()
        # Approving cannot be undone, so the page asks first.
        await first.get_by_role("button", name="Yes, approve and deliver").click()
        await expect(first).to_have_url(url_pattern(live, "/staff/moderation"))
        assert await _status(live, letter_id) is ItemStatus.AWAITING_SECOND_APPROVAL

        # 3. A second moderator confirms it.
        second = await open_as(staff2, "moderator-two")
        await open_moderation_queue(second)
        await review_from_queue(second, "needs a second approval")
        await expect(
            second.get_by_text("It needs a second moderator to confirm it")
        ).to_be_visible()
        await _visit(second)
        await second.get_by_role("button", name="Confirm the approval").click()
        await second.get_by_role("button", name="Yes, confirm the approval").click()
        await expect(second).to_have_url(url_pattern(live, "/staff/moderation"))
        assert await _status(live, letter_id) is ItemStatus.APPROVED

        # 4. Staff start an opening session on the centre device (the first moderator signs in
        # there too), from the letters ready to open on their home.
        device = await open_as(staff, "centre-device", second_device=True)
        await device.get_by_role("link", name=re.compile("^Open letters with Sam")).click()
        await _visit(device)
        await device.get_by_role(
            "button", name="Start an opening session with Sam on this device"
        ).click()
        await expect(device.get_by_role("heading", name="Hello Sam!")).to_be_visible()
        child_view = device.url
        await _visit(device)

        # 5. The child opens the letter: the postcode is blacked out, the photo boxed.
        await device.get_by_role("button", name="Open it").click()
        letter = device.locator("#child-letter")
        await expect(letter).to_contain_text(BLOCK)
        await expect(letter).to_contain_text("I hope school is fun.")
        assert POSTCODE not in await device.content()
        shown = device.locator("img.child-picture")
        await expect(shown).to_have_count(1)
        await expect(shown).to_have_js_property("complete", True)
        await expect(shown).to_have_js_property("naturalWidth", PHOTO_SIZE[0])
        source = await shown.get_attribute("src")
        assert source is not None
        served = await device.context.request.get(live.url + source)
        assert served.ok and served.headers["x-content-type-options"] == "nosniff"
        with Image.open(io.BytesIO(await served.body())) as delivered:
            rgb = delivered.convert("RGB")
            assert rgb.getpixel((x + w // 2, y + h // 2)) == (0, 0, 0)
            assert rgb.getpixel((x + 2, y + 2)) == (0, 0, 0)
            assert rgb.getpixel((x + w - 3, y + h - 3)) == (0, 0, 0)
            assert rgb.getpixel((max(0, x - 20), max(0, y - 20))) != (0, 0, 0)
            assert "exif" not in delivered.info
        await _visit(device, "letterbox-child-view")

        # The opening is recorded with the staff member.
        async with app[SESSIONMAKER]() as session:
            openings = (
                await session.scalars(select(ItemOpening).where(ItemOpening.item_id == letter_id))
            ).all()
        assert [o.staff_id for o in openings] == [world.staff.user_id]

        # No way out: an adversary holding the device types staff addresses, and each sends
        # the device back to the child view.
        for path in ("/staff/moderation", "/admin", f"/staff/families/{world.family_id}/letterbox"):
            await device.goto(live.url + path)
            await expect(device).to_have_url(child_view)
            await expect(device.get_by_role("heading", name="Hello Sam!")).to_be_visible()

        # 6. The child replies; staff type the words.
        await device.get_by_label("What would you like to say?").fill(REPLY)
        await device.locator("#reply-form").get_by_role("button", name="Send").click()
        await expect(device.locator("#reply-form [role=status]")).to_have_text(
            "Sent. It is now being checked."
        )
        [reply_id] = await _item_ids(live, Direction.TO_PARENT)

        # Leaving needs the staff password: a wrong one keeps the child view.
        await device.get_by_text("Staff", exact=True).click()
        await device.get_by_label("Staff password to leave this screen").fill("guess")
        await device.get_by_role("button", name="Leave the child view").click()
        await expect(device.locator("#staff-password-error")).to_contain_text(
            "That password is not right"
        )
        await _visit(device)
        await device.get_by_label("Staff password to leave this screen").fill(PASSWORD)
        await device.get_by_role("button", name="Leave the child view").click()
        await expect(device.get_by_role("heading", name="Opening session with Sam")).to_be_visible()
        await _visit(device)
        await device.get_by_role("button", name="End the session").click()
        await expect(device.get_by_text(re.compile(r"ended \d\d:\d\d"))).to_be_visible()

        # 7. The reply is moderated. Whoever typed it may not approve it.
        await open_moderation_queue(first)
        await review_from_queue(first, "Reply to the parent")
        await expect(first.locator("#typed-by-you")).to_be_visible()
        await expect(first.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
        await _visit(first)
        await open_moderation_queue(second)
        await review_from_queue(second, "Reply to the parent")
        await expect(second.get_by_role("heading", name="Reply to the parent")).to_be_visible()
        await second.get_by_role("button", name="Approve", exact=True).click()
        await second.get_by_role("button", name="Yes, approve and deliver").click()
        await expect(second).to_have_url(url_pattern(live, "/staff/moderation"))
        admin = await open_as(admin_account, "admin")
        await open_moderation_queue(admin)
        await review_from_queue(admin, "needs a second approval")
        await admin.get_by_role("button", name="Confirm the approval").click()
        await admin.get_by_role("button", name="Yes, confirm the approval").click()
        await expect(admin).to_have_url(url_pattern(live, "/staff/moderation"))
        assert await _status(live, reply_id) is ItemStatus.APPROVED

        # 8. The parent reads the reply, and sees the letter was opened.
        await parent.reload()
        await expect(
            parent.locator(".conversation li", has_text="Letter you sent")
        ).to_contain_text("Opened on ")
        await _visit(parent, "letterbox-parent-view")
        await (
            parent.locator(".conversation li", has_text="Reply from Sam")
            .get_by_role("link")
            .click()
        )
        await expect(parent.locator(".reply-text")).to_have_text(REPLY)
        await _visit(parent)
    finally:
        for context in contexts:
            await context.close()
