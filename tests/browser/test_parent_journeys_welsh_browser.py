"""The parent's journeys (../shared/JOURNEYS.md) in Welsh, on a phone (390x844, touch), in
real Chromium, by taps and typing alone from the sign-in page.

A Welsh-speaking parent whose account the centre made in English, on a phone whose browser
asks for English: they press "Cymraeg" on the sign-in page and sign in by the Welsh labels;
their home is still English (a signed-in person reads their account's language), so they set
Welsh on "My account"; then every journey in Welsh: a letter with a photo written and sent,
its Welsh status at home, its page; the child's reply read on its page; a returned letter
changed and sent again; "My calls" and the next call's page. A parent who chose Welsh at
the invitation reads Welsh once signed in whatever the phone asks, finds the centre's contact
details, and keeps a long letter through two session time-outs. On every Welsh page: the
``lang`` attribute says Welsh, axe-core finds nothing serious, and the heading is the
catalogue's Welsh, never the English it was written in.

Expected words come from the catalogue (``service.i18n``), so the test follows the
translators. ``welsh`` insists the catalogue has a translation; ``cy`` takes whatever it has,
for the parent-facing words built in Python that the catalogue does not carry yet (the
status words of service/statuses.py and the titles of service/letterbox/conversation.py): the
test asserts those as the catalogue has them and tightens by itself once they are translated.

What the centre does meanwhile (moderating, the child replying, booking a call) happens
through its own routes with the staff's sessions: those are other people's journeys. One
Chromium for the module (each test connects to it over the DevTools protocol)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, Playwright, expect
from sqlalchemy import delete

from service.appkeys import SESSIONMAKER
from service.i18n import gettext, use_language
from service.notify import CONTACT_BOOK
from storage.models import Call, Centre, Item, User, WebSession
from tests.support.browser import (
    LiveApp,
    check_accessibility,
    chromium_over_devtools,
    newest_sent,
    phone,
    tap_to,
)
from tests.support.centre_day import child_replies
from tests.support.letterbox_world import STAFF_PASSWORD, World, make_world, picture
from tests.support.seeding import seeding_sessionmaker

pytestmark = pytest.mark.browser

FIRST = "Annwyl Sam, dyma lun o'r gath. Cariad mawr, Dad"
REPLY = "Diolch Dad! Dw i wedi tynnu llun o gath i ti."
RETURNED = "Annwyl Sam, wela i di yn y parc ddydd Sadwrn."
CHANGED = "Annwyl Sam, gobeithio cei di ddydd Sadwrn hyfryd."
RETURN_MESSAGE = "Please do not say where we could meet. Change that line and send it again."
LONG_LETTER = "Annwyl Sam, dyma lythyr hir rydw i'n ei ysgrifennu'n araf ar fy ffôn. " * 4
HEADINGS = ":is(h1, h2, h3):visible"


def cy(english: str) -> str:
    """``english`` as the Welsh catalogue has it (itself while it has no translation)."""
    with use_language("cy"):
        return gettext(english)


def welsh(english: str) -> str:
    """The catalogue's Welsh for ``english``; a message with no Welsh fails the test."""
    translated = cy(english)
    assert translated != english, f"no Welsh for {english!r} in the catalogue"
    return translated


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from chromium_over_devtools(tmp_path_factory.mktemp("chromium"))


@pytest.fixture
async def browser(playwright: Playwright, chromium: str) -> AsyncIterator[Browser]:
    """This test's connection to the module's Chromium: closing it closes the contexts the
    test opened, and the browser goes on."""
    connected = await playwright.chromium.connect_over_cdp(chromium)
    try:
        yield connected
    finally:
        await connected.close()


async def _staff(live: LiveApp, world: World, method: str, path: str, **kw: Any) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, live.url + path, headers=world.staff.headers(Origin=live.url), **kw
        ) as response,
    ):
        assert response.status in (200, 201), await response.text()
        return await response.json()


async def _decide(
    live: LiveApp, world: World, item_id: uuid.UUID, decision: str, **extra: Any
) -> None:
    """A support worker's decision on the moderation page (their journey, tested elsewhere)."""
    path = f"/api/moderation/items/{item_id}"
    view = await _staff(live, world, "GET", path)
    body = {"decision": decision, "version": view["version"], **extra}
    await _staff(live, world, "POST", f"{path}/decision", json=body)


async def _heading(page: Page) -> str:
    heading = page.locator("h1:visible")
    await expect(heading).to_have_count(1)
    return " ".join((await heading.inner_text()).split())


async def _welsh_page(page: Page, english_heading: str, *, exact: bool = True) -> str:
    """The page as a Welsh reader gets it: ``lang="cy"``, its heading the catalogue's Welsh
    for ``english_heading`` (the whole heading, or its start when the rest is a name or a
    date), and nothing axe-core calls serious. Returns the heading."""
    await page.wait_for_load_state("load")
    await expect(page.locator("html")).to_have_attribute("lang", "cy")
    expected = welsh(english_heading)
    heading = await _heading(page)
    if exact:
        assert heading == expected.strip(), f"{page.url}: heading {heading!r}, not {expected!r}"
    else:
        assert heading.startswith(expected.strip()), f"{page.url}: heading {heading!r}"
    assert english_heading.strip() not in heading, f"{page.url}: English heading {heading!r}"
    await _no_english_headings(page)
    await check_accessibility(page)
    return heading


async def _english_headings(page: Page) -> list[str]:
    """The headings shown that are catalogue messages in their English (on a Welsh page: a
    template the Welsh compile step missed)."""
    shown = [" ".join(text.split()) for text in await page.locator(HEADINGS).all_inner_texts()]
    return [text for text in shown if cy(text) != text]


async def _no_english_headings(page: Page) -> None:
    assert await _english_headings(page) == [], f"{page.url}: headings left in English"


async def _built_heading(page: Page, english_title: str, **values: str) -> str:
    """A Welsh page whose heading starts with a title built in Python ("Letter you sent on
    …", "Reply from {child}"): the catalogue's Welsh for it, with ``values`` filled in."""
    await page.wait_for_load_state("load")
    await expect(page.locator("html")).to_have_attribute("lang", "cy")
    heading = await _heading(page)
    expected = welsh(english_title).format(**values)
    assert heading.startswith(expected), f"{page.url}: heading {heading!r}"
    await _no_english_headings(page)
    await check_accessibility(page)
    return heading


async def _parent(live: LiveApp) -> tuple[World, str]:
    """The family, and the parent's sign-in address as they type it (lower case); their
    account is in English, as the centre made it."""
    world = await make_world(live.server.app)
    async with live.server.app[SESSIONMAKER].begin() as session:
        user = await session.get(User, world.parent.user_id)
        assert user is not None and user.language == "en"
        user.email = email = user.email.lower()
    return world, email


async def test_a_welsh_speaker_walks_every_parent_journey_in_welsh_by_taps_on_a_phone(
    live_app: LiveApp, browser: Browser, tmp_path: Path
) -> None:
    live = live_app
    world, email = await _parent(live)
    context = await phone(browser)
    page = await context.new_page()
    # The one address typed: the sign-in page. The phone asks for English, so it is English.
    await page.goto(live.url + "/sign-in")
    await expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    await expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()

    # 1. The switch, then signing in by the Welsh labels.
    switch = page.get_by_role("navigation", name="Language")
    await tap_to(page, switch.get_by_role("link", name="Cymraeg"))
    await _welsh_page(page, "Sign in")
    switch = page.get_by_role("navigation", name=welsh("Language"))
    await expect(switch.locator('[aria-current="true"]')).to_have_text("Cymraeg")
    await page.get_by_label(welsh("Email address")).fill(email)
    await page.get_by_label(welsh("Password"), exact=True).fill(STAFF_PASSWORD)
    await tap_to(page, page.get_by_role("button", name=welsh("Sign in")))

    # 2. Home follows the account (English), with no switch once signed in: "My account" →
    # Cymraeg → saved, and the page says so in Welsh.
    await expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    await expect(page.get_by_role("heading", name="My letterbox")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Language")).to_have_count(0)
    assert "My letterbox" in await _english_headings(page)  # what the Welsh pages are spared
    await check_accessibility(page)
    await tap_to(page, page.get_by_role("link", name="My account"))
    await expect(page.get_by_role("radio", name="English")).to_be_checked()
    await page.get_by_role("radio", name="Cymraeg").tap()
    await tap_to(page, page.get_by_role("button", name="Save language"))
    await _welsh_page(page, "Change your password")
    await expect(page.get_by_role("status")).to_have_text(
        welsh("Saved. Letterbox is now in your language.")
    )
    await expect(page.get_by_role("radio", name="Cymraeg")).to_be_checked()
    async with live.server.app[SESSIONMAKER]() as session:
        stored = await session.get(User, world.parent.user_id)
        assert stored is not None and stored.language == "cy"
    nav = page.get_by_role("navigation", name=welsh("Main"))
    await tap_to(page, nav.get_by_role("link", name=welsh("My letterbox")))
    await _welsh_page(page, "My letterbox")

    # 3a. First letter: "Write a letter" → words and a photo → send → home, its Welsh status.
    await tap_to(page, page.get_by_role("link", name=welsh("Write a letter"), exact=True))
    assert (await _welsh_page(page, "Write a letter to ", exact=False)).endswith("Sam")
    await page.get_by_label(welsh("Your letter"), exact=True).fill(FIRST)
    photo = tmp_path / "cath.png"
    photo.write_bytes(picture((640, 480)))
    await page.get_by_label(welsh("Photos or documents (if you want to)")).set_input_files(
        str(photo)
    )
    await page.get_by_role("button", name=welsh("Send letter")).tap()
    await expect(page.locator("html")).to_have_attribute("lang", "cy")
    await expect(page.get_by_role("status").first).to_contain_text(cy("Being checked"))
    first_row = page.locator(".conversation li").first
    await expect(first_row).to_contain_text(cy("Letter you sent"))
    await expect(first_row).to_contain_text(cy("Being checked"))
    await _welsh_page(page, "My letterbox")

    # 3b. Approved behind the scenes; its page, its history in Welsh.
    await _decide(live, world, await newest_sent(live, world.parent.user_id), "approve")
    await page.reload()
    await expect(first_row).to_contain_text(cy("Approved"))
    await tap_to(page, first_row.get_by_role("link"))
    await _built_heading(page, "Letter you sent")
    await expect(page.locator(".sent-text")).to_have_text(FIRST)
    await expect(page.locator("img.sent-picture")).to_be_visible()
    await expect(page.get_by_role("heading", name=welsh("What has happened to it"))).to_be_visible()
    await expect(page.locator(".history")).to_contain_text(cy("Approved"))
    await tap_to(page, page.get_by_role("link", name=welsh("← Back to my letterbox")))
    await _welsh_page(page, "My letterbox")

    # 3c. A reply from the child: read on its own page.
    await child_replies(live, world, REPLY)
    await page.reload()
    reply_row = page.locator(".conversation li.conversation-to_parent").first
    await expect(reply_row).to_contain_text(cy("New reply"))
    await tap_to(page, reply_row.get_by_role("link"))
    await _built_heading(page, "Reply from {child}", child="Sam")
    await expect(page.locator(".reply-text")).to_have_text(REPLY)
    await tap_to(page, page.get_by_role("link", name=welsh("← Back to my letterbox")))
    await _welsh_page(page, "My letterbox")

    # 3d. Returned: the centre's message first, "Change and send again", the letter in the
    # form, changed and sent again.
    await tap_to(page, page.get_by_role("link", name=welsh("Write a letter"), exact=True))
    await page.get_by_label(welsh("Your letter"), exact=True).fill(RETURNED)
    await page.get_by_role("button", name=welsh("Send letter")).tap()
    await expect(page.get_by_role("heading", name=welsh("My letterbox"))).to_be_visible()
    returned_id = await newest_sent(live, world.parent.user_id)
    await _decide(live, world, returned_id, "return", message=RETURN_MESSAGE)
    await page.reload()
    row = page.locator(".conversation li").first
    await expect(row).to_contain_text(cy("Returned to you"))
    await tap_to(page, row.get_by_role("link"))
    await _welsh_page(page, "The centre sent this letter back to you")
    await expect(page.locator(".return-message")).to_have_text(RETURN_MESSAGE)
    await tap_to(page, page.get_by_role("link", name=welsh("Change and send again")))
    await _welsh_page(page, "Change and send again")
    text = page.get_by_label(welsh("Your letter"), exact=True)
    await expect(text).to_have_value(RETURNED)
    await text.fill(CHANGED)
    await page.get_by_role("button", name=welsh("Send letter")).tap()
    await expect(page.get_by_role("heading", name=welsh("My letterbox"))).to_be_visible()
    await _welsh_page(page, "My letterbox")
    resent_id = await newest_sent(live, world.parent.user_id)
    async with live.server.app[SESSIONMAKER]() as session:
        resent = await session.get(Item, resent_id)
        assert resent is not None and resent.replaces_item_id == returned_id

    # 3e. A call, booked by the centre to start in five minutes (so it can be joined now):
    # "My calls" → the call's page.
    starts = datetime.now(UTC) + timedelta(minutes=5)
    async with seeding_sessionmaker(live.server.app).begin() as session:
        call = Call(
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=world.staff.user_id,
            scheduled_by=world.admin.user_id,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=30),
        )
        session.add(call)
    await page.reload()
    await tap_to(page, page.get_by_role("link", name=welsh("My calls")).first)
    await _welsh_page(page, "My calls")
    call_row = page.locator(f'.call-row[data-call-id="{call.id}"]')
    await expect(call_row).to_contain_text(cy("You can join now"))
    await tap_to(page, call_row.get_by_role("link", name=welsh("Join the call")))
    await _welsh_page(page, "Your video call")
    await expect(
        page.get_by_role("button", name=welsh("Turn on my camera and microphone"))
    ).to_be_visible()
    await context.close()


async def test_a_welsh_account_reads_welsh_whatever_the_phone_asks_and_keeps_the_draft(
    live_app: LiveApp, browser: Browser
) -> None:
    # Welsh chosen at the invitation; the phone asks for English. Signed in, every page is
    # Welsh with nothing to press, the centre's contact details are on it (journey 7), and a
    # long letter survives the session's end twice (journey 6): once between pages, once
    # just before "Send".
    live = live_app
    world, email = await _parent(live)
    async with live.server.app[SESSIONMAKER].begin() as session:
        user = await session.get(User, world.parent.user_id)
        assert user is not None
        user.language = "cy"
        centre = await session.get(Centre, world.centre_id)
        assert centre is not None
        centre.contact_phone, centre.contact_email = "029 2018 0000", "help@centre.example"
    await live.server.app[CONTACT_BOOK].refresh(live.server.app[SESSIONMAKER])
    context = await phone(browser)
    page = await context.new_page()
    await page.goto(live.url + "/sign-in")
    await expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
    await tap_to(page, page.get_by_role("button", name="Sign in"))
    await _welsh_page(page, "My letterbox")
    footer = page.get_by_role("contentinfo")
    await expect(footer).to_contain_text("029 2018 0000")
    await expect(footer.get_by_role("link", name="help@centre.example")).to_be_visible()

    await tap_to(page, page.get_by_role("link", name=welsh("Write a letter"), exact=True))
    await page.get_by_label(welsh("Your letter"), exact=True).fill(LONG_LETTER)
    # Saved as typed: the note under the letter says when (its words are the script's).
    await expect(page.locator("#draft-status")).not_to_be_empty()
    await _end_sessions(live, world)
    await tap_to(page, page.get_by_role("link", name=welsh("← Back to my letterbox")))
    # Signed out, the phone remembers the account's language: the sign-in page is Welsh.
    await _welsh_page(page, "Sign in")
    await page.get_by_label(welsh("Email address")).fill(email)
    await page.get_by_label(welsh("Password"), exact=True).fill(STAFF_PASSWORD)
    await tap_to(page, page.get_by_role("button", name=welsh("Sign in")))
    await _welsh_page(page, "My letterbox")
    await tap_to(page, page.get_by_role("link", name=welsh("Carry on writing it")))
    await _welsh_page(page, "Write a letter to ", exact=False)
    letter = page.get_by_label(welsh("Your letter"), exact=True)
    await expect(letter).to_have_value(LONG_LETTER)

    await _end_sessions(live, world)
    await letter.press("Control+End")
    await letter.type(" Cariad, Dad")
    await page.get_by_role("button", name=welsh("Send letter")).tap()
    password = page.get_by_label(welsh("Type your password to sign in again and send it"))
    await expect(password).to_be_visible()
    await expect(letter).to_have_value(LONG_LETTER + " Cariad, Dad")
    await expect(page.locator("html")).to_have_attribute("lang", "cy")
    await check_accessibility(page)
    await password.fill(STAFF_PASSWORD)
    await page.get_by_role("button", name=welsh("Sign in and send")).tap()
    await expect(page.get_by_role("heading", name=welsh("My letterbox"))).to_be_visible()
    await _welsh_page(page, "My letterbox")
    await tap_to(page, page.locator(".conversation li").first.get_by_role("link"))
    await _built_heading(page, "Letter you sent")
    await expect(page.locator(".sent-text")).to_have_text(LONG_LETTER + " Cariad, Dad")
    await context.close()


async def _end_sessions(live: LiveApp, world: World) -> None:
    """The idle time-out, as the server applies it: the parent's sessions are gone."""
    async with live.server.app[SESSIONMAKER].begin() as session:
        await session.execute(delete(WebSession).where(WebSession.user_id == world.parent.user_id))
