"""A parent sends a photo carrying GPS from a real browser, signed in and on "Write a letter"
by clicks and typing: the page goes home once sent, the letter shows "Being checked", and the
stored copy has no GPS."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Playwright, expect
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from storage.models import ItemPart, PartKind
from tests.support import images
from tests.support.browser import LiveApp, check_accessibility, new_browser
from tests.support.centre_day import sign_in, signable
from tests.support.letterbox_world import make_world, read_stored

pytestmark = pytest.mark.browser


async def test_parent_uploads_gps_photo_and_sees_it_being_checked(
    live_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    parent = await signable(app, world.parent.user_id)
    context = await new_browser(playwright, tmp_path / "profile")
    try:
        page = await context.new_page()
        await sign_in(page, live_app, parent)
        await page.get_by_role("link", name="Write a letter").click()
        await expect(page.get_by_role("heading", name="Write a letter")).to_be_visible()
        await check_accessibility(page)

        await page.get_by_label("Your letter", exact=True).fill("Hello Sam, here is the beach!")
        await page.locator("#letter-files").set_input_files(
            [
                {
                    "name": "beach.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": images.jpeg_with_everything((1600, 1200)),
                }
            ]
        )
        await page.get_by_role("button", name="Send letter").click()

        # Sent: the parent's home lists it as being checked.
        await expect(page.get_by_role("heading", name="My letterbox")).to_be_visible()
        await expect(page.locator(".conversation li").first).to_contain_text("Being checked")

        await page.reload()
        await expect(page.locator(".conversation li").first).to_contain_text("Being checked")
    finally:
        await context.close()

    async with app[SESSIONMAKER]() as session:
        part = await session.scalar(select(ItemPart).where(ItemPart.kind == PartKind.IMAGE))
        assert part is not None and part.sanitised_object_id is not None
        assert "GPS position" in part.removed_metadata
        object_id: uuid.UUID = part.sanitised_object_id
    _, data = await read_stored(app, object_id)
    with Image.open(io.BytesIO(data)) as picture:
        assert not picture.getexif().get_ifd(0x8825)
