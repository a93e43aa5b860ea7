"""Reading a child's reply aloud (issue 21 item 5), in real Chromium, from the sign-in page by
clicks, keys and typing: the parent opens the reply from their home and presses "Read this
aloud". Headless Chromium has no voices, so a stand-in for the speech API
(tests/support/speech.py) offers the voices each test names and records what is spoken.

What these prove: only a voice that runs on the parent's device is ever used, and it speaks
the reply's words and nothing else; without such a voice the button says reading aloud is not
available and nothing is spoken; a centre that turns reading aloud off shows no button."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Playwright, expect

from tests.support.browser import LiveApp, check_accessibility, laptop, launch
from tests.support.centre_day import child_replies, sign_in, signable
from tests.support.letterbox_world import World, make_world
from tests.support.speech import (
    Spoken,
    Voice,
    cancelled,
    finish_speaking,
    install_speech_stand_in,
    spoken,
)

pytestmark = pytest.mark.browser

# Two lines, and characters HTML would change if the page passed on markup, not words.
REPLY = "Thank you Dad! I drew you a cat & a dog.\nSee you soon <3"
NOT_AVAILABLE = "Reading aloud is not available on this device"
# A network voice first, the device's default, in the page's own language: a page that takes
# the default, or the first voice that fits the language, sends the child's words away.
NETWORK_UK = Voice("Cloud English (UK)", "en-GB", local=False, default=True)
LOCAL_FRENCH = Voice("Amélie (on this device)", "fr-FR", local=True)
LOCAL_UK = Voice("Daniel (on this device)", "en-GB", local=True)
NETWORK_WELSH = Voice("Cloud Welsh", "cy-GB", local=False)


@pytest.fixture
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    running = await launch(playwright)
    try:
        yield running
    finally:
        await running.close()


async def _world_with_reply(live: LiveApp) -> World:
    world = await make_world(live.server.app)
    await child_replies(live, world, REPLY)
    return world


async def _parent_opens_reply(
    browser: Browser, live: LiveApp, world: World, voices: list[Voice] | None
) -> Page:
    """A fresh device (with the stand-in's voices, or Chromium's own speech when None): sign
    in, and from home open the child's reply."""
    context = await laptop(browser)
    if voices is not None:
        await install_speech_stand_in(context, voices)
    page = await context.new_page()
    await sign_in(page, live, await signable(live.server.app, world.parent.user_id))
    await page.locator(".conversation li", has_text="Reply from Sam").get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Reply from Sam")).to_be_visible()
    await expect(page.locator(".reply-text")).to_have_text(REPLY)
    return page


async def test_an_on_device_voice_reads_exactly_the_reply_and_a_network_voice_never(
    live_app: LiveApp, browser: Browser
) -> None:
    world = await _world_with_reply(live_app)
    page = await _parent_opens_reply(browser, live_app, world, [NETWORK_UK, LOCAL_FRENCH, LOCAL_UK])
    read = page.get_by_role("button", name="Read this aloud")
    await expect(read).to_be_enabled()
    await check_accessibility(page)
    # By keyboard: the button comes straight after the way back, and Enter presses it.
    await page.get_by_role("link", name="Back to my letterbox").focus()
    await page.keyboard.press("Tab")
    await expect(read).to_be_focused()
    await page.keyboard.press("Enter")

    stop = page.get_by_role("button", name="Stop reading")
    await expect(stop).to_be_focused()
    assert await spoken(page) == [Spoken(REPLY, "en-GB", LOCAL_UK.name, True)]
    await check_accessibility(page)
    before = await cancelled(page)
    await page.keyboard.press("Enter")
    await expect(read).to_be_focused()
    assert await cancelled(page) > before

    # Read again to its end: the button comes back by itself, and nothing else was said.
    await read.click()
    await expect(stop).to_be_visible()
    await finish_speaking(page)
    await expect(read).to_be_visible()
    await expect(stop).to_be_hidden()
    assert [s.voice for s in await spoken(page)] == [LOCAL_UK.name, LOCAL_UK.name]
    assert {s.text for s in await spoken(page)} == {REPLY}
    await page.context.close()


async def test_without_an_on_device_voice_the_button_says_so_and_nothing_is_spoken(
    live_app: LiveApp, browser: Browser
) -> None:
    world = await _world_with_reply(live_app)
    page = await _parent_opens_reply(browser, live_app, world, [NETWORK_UK, NETWORK_WELSH])
    button = page.get_by_role("button", name=NOT_AVAILABLE)
    await expect(button).to_be_visible()
    await expect(button).to_be_disabled()
    await expect(page.get_by_role("button", name="Read this aloud")).to_have_count(0)
    await check_accessibility(page)
    assert await spoken(page) == []
    await page.context.close()

    # Chromium's own speech, which has no voice at all here, answers the same.
    page = await _parent_opens_reply(browser, live_app, world, None)
    await expect(page.get_by_role("button", name=NOT_AVAILABLE)).to_be_disabled()
    await page.context.close()


async def test_a_centre_that_turns_reading_aloud_off_shows_no_button(
    live_app: LiveApp, browser: Browser
) -> None:
    world = await _world_with_reply(live_app)
    admin_device = await laptop(browser)
    admin = await admin_device.new_page()
    await sign_in(admin, live_app, await signable(live_app.server.app, world.admin.user_id))
    await (
        admin.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Centre settings")
        .click()
    )
    offer = admin.get_by_label("Offer to read replies aloud to parents")
    await expect(offer).to_be_checked()  # on unless the centre turns it off
    await offer.uncheck()
    await admin.get_by_role("button", name="Save reading aloud").click()
    await expect(admin.get_by_role("status")).to_contain_text(re.compile("read.*aloud.*off", re.I))
    await expect(offer).not_to_be_checked()
    await check_accessibility(admin)
    await admin_device.close()

    page = await _parent_opens_reply(browser, live_app, world, [LOCAL_UK])
    await expect(page.get_by_role("button", name=re.compile("aloud"))).to_have_count(0)
    await expect(page.locator("[data-read-aloud], script[src*=read_aloud]")).to_have_count(0)
    assert await spoken(page) == []
    await page.context.close()
