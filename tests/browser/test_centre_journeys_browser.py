"""The centre's working day in real Chromium, each journey from the sign-in page by clicks and
typing only: every role reaches all its work from its home; an opening session run from home
on a second context standing for the centre tablet; a gift logged, checked and handed over;
a supervisor joining today's call from home; an admin making a court export that the referrer
then downloads. axe-core runs on every page visited."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from playwright.async_api import Page, Playwright, expect
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from storage.models import (
    Call,
    GiftStatus,
    Item,
    ItemStatus,
    OpeningSession,
    PhysicalGift,
    RecordEvent,
    ReferrerAccess,
    Role,
)
from tests.support.browser import (
    LiveApp,
    check_accessibility,
    laptop,
    launch,
    url_pattern,
)
from tests.support.centre_day import PASSWORD, BrowserPerson, browser_person, parent_sends, sign_in
from tests.support.letterbox_world import World, make_world, picture
from tests.support.seeding import seeding_sessionmaker

pytestmark = pytest.mark.browser

# Linked pages a reachability walk does not follow (none: every linked page is walked).
ELSEWHERE: set[str] = set()
ERROR_HEADINGS = re.compile("Page not found|No access|Sorry, something went wrong|could not do")


async def _case(live: LiveApp, world: World) -> str:
    from storage.models import Family

    async with live.server.app[SESSIONMAKER]() as session:
        family = await session.get(Family, world.family_id)
        assert family is not None
        return family.case_reference


async def _approved_letter(live: LiveApp, world: World, text: str) -> uuid.UUID:
    """A letter approved by a colleague (the moderation journey has its own tests)."""
    item_id = await parent_sends(live, world, text)
    async with aiohttp.ClientSession() as http:
        headers = world.staff.headers(Origin=live.url)
        async with http.get(f"{live.url}/api/moderation/items/{item_id}", headers=headers) as r:
            version = (await r.json())["version"]
        async with http.post(
            f"{live.url}/api/moderation/items/{item_id}/decision",
            json={"decision": "approve", "version": version},
            headers=headers,
        ) as r:
            assert r.status == 200, await r.text()
    return item_id


async def _book_call_now(live: LiveApp, world: World, supervisor: BrowserPerson) -> uuid.UUID:
    now = datetime.now(UTC)
    async with seeding_sessionmaker(live.server.app).begin() as session:
        call = Call(
            id=uuid.uuid4(),
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=supervisor.user_id,
            scheduled_by=world.admin.user_id,
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(minutes=55),
        )
        session.add(call)
    return call.id


async def _page_is_fine(page: Page) -> None:
    await expect(page.locator("main h1").first).to_be_visible()
    heading = await page.locator("main h1").first.inner_text()
    assert not ERROR_HEADINGS.search(heading), f"{page.url}: {heading}"
    await check_accessibility(page)


async def _follow_every_link(page: Page, home_link: str, links: str) -> list[str]:
    """Click each link matched by ``links`` on the home page in turn, checking each page it
    leads to, and come back by the navigation's home link. Returns the paths reached."""
    hrefs: list[str] = []
    for href in await page.locator(links).evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    ):
        if href and href.startswith("/") and href not in hrefs and href not in ELSEWHERE:
            hrefs.append(href)
    for href in hrefs:
        if "/join" in href:
            continue  # a call page asks for the camera: its own journey below
        target = ", ".join(f'{part.strip()}[href="{href}"]' for part in links.split(","))
        await page.locator(target).first.click()
        await expect(page).to_have_url(re.compile(re.escape(href.split("#")[0]) + r"(\?.*|#.*)?$"))
        await _page_is_fine(page)
        await (
            page.get_by_role("navigation", name="Main").get_by_role("link", name=home_link).click()
        )
        await _page_is_fine(page)
    return hrefs


async def test_each_role_reaches_all_its_work_from_its_home(
    live_app: LiveApp, playwright: Playwright
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    await parent_sends(live_app, world, "Dear Sam, I hope the holidays are fun. Dad")
    staff = await browser_person(app, world.centre_id, Role.STAFF, "Robin Staff")
    supervisor = await browser_person(app, world.centre_id, Role.SUPERVISOR, "Sky Supervisor")
    admin = await browser_person(app, world.centre_id, Role.ADMIN, "Alex Admin")
    referrer = await browser_person(app, world.centre_id, Role.REFERRER, "Priya Solicitor")
    call_id = await _book_call_now(live_app, world, supervisor)
    async with seeding_sessionmaker(app).begin() as session:
        now = datetime.now(UTC)
        session.add(
            ReferrerAccess(
                family_id=world.family_id,
                user_id=referrer.user_id,
                granted_by=world.admin.user_id,
                granted_at=now,
                expires_at=now + timedelta(days=30),
            )
        )
    case = await _case(live_app, world)
    everything = "main a, nav[aria-label='Main'] a"

    browser = await launch(playwright)
    try:
        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, staff)
        reached = await _follow_every_link(page, "Today", everything)
        assert {
            "/staff/moderation",
            "/staff/families",
            f"/staff/families/{world.family_id}/letterbox",
        } <= set(reached)

        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, supervisor)
        join = page.get_by_role("link", name=re.compile("^Join the call with Sam"))
        await expect(join).to_have_attribute("href", f"/calls/{call_id}/join")
        reached = await _follow_every_link(page, "Today", everything)
        assert "/calls" in reached

        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, admin)
        await expect(page.get_by_role("link", name="Centre settings").first).to_have_attribute(
            "href", "/admin/centre"
        )
        reached = await _follow_every_link(page, "Today", everything)
        assert {
            "/admin/referrals",
            "/admin/people",
            "/calls",
            "/admin/exports",
            "/admin/families",
            "/staff/moderation",
            "/admin/moderation-target",
            f"/admin/families/{world.family_id}",
        } <= set(reached)

        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, referrer)
        reached = await _follow_every_link(page, "My families", everything)
        assert f"/referrer/families/{world.family_id}/exports" in reached
        await expect(page.get_by_role("cell", name=case, exact=True)).to_be_visible()
    finally:
        await browser.close()


async def test_staff_run_an_opening_session_from_home_on_the_centre_tablet(
    live_app: LiveApp, playwright: Playwright
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    item_id = await _approved_letter(live_app, world, "Dear Sam, the kittens are growing. Dad")
    robin = await browser_person(app, world.centre_id, Role.STAFF, "Robin Staff")
    kim = await browser_person(app, world.centre_id, Role.STAFF, "Kim Staff")

    browser = await launch(playwright)
    try:
        # A colleague at their laptop.
        laptop_page = await (await laptop(browser)).new_page()
        await sign_in(laptop_page, live_app, kim)
        await expect(laptop_page.locator("#sessions-heading")).to_be_visible()
        await expect(laptop_page.get_by_text("No opening session today yet.")).to_be_visible()

        # The centre tablet: the worker signs in there and starts the session from home.
        tablet = await (await laptop(browser)).new_page()
        await sign_in(tablet, live_app, robin)
        await tablet.get_by_role("link", name="Open letters with Sam").click()
        await _page_is_fine(tablet)
        await tablet.get_by_role(
            "button", name="Start an opening session with Sam on this device"
        ).click()
        await expect(tablet.get_by_role("heading", name="Hello Sam!")).to_be_visible()
        await check_accessibility(tablet)
        await tablet.get_by_role("button", name="Open it").click()
        await expect(tablet.get_by_text("the kittens are growing")).to_be_visible()
        await check_accessibility(tablet)
        await tablet.get_by_role("link", name="Back").click()
        await expect(tablet.get_by_text("There is nothing new right now.")).to_be_visible()

        # Meanwhile the laptop's home shows the session still open.
        await (
            laptop_page.get_by_role("navigation", name="Main")
            .get_by_role("link", name="Today")
            .click()
        )
        await expect(laptop_page.locator("#sessions-heading + ul")).to_contain_text(
            "Session with Sam"
        )
        await expect(laptop_page.locator("#sessions-heading + ul")).to_contain_text("still open")
        await check_accessibility(laptop_page)

        # The worker takes the tablet back with their password.
        await tablet.get_by_text("Staff", exact=True).click()
        await tablet.get_by_label("Staff password to leave this screen").fill(PASSWORD)
        await tablet.get_by_role("button", name="Leave the child view").click()
        await expect(tablet.get_by_role("heading", name="Opening session with Sam")).to_be_visible()
        await check_accessibility(tablet)
        await tablet.get_by_role("button", name="End the session").click()
        await expect(tablet.locator("main")).to_contain_text("ended")
        await _page_is_fine(tablet)
    finally:
        await browser.close()

    async with app[SESSIONMAKER]() as session:
        item = await session.get(Item, item_id)
        assert item is not None and item.status is ItemStatus.OPENED
        opening = await session.scalar(
            select(OpeningSession).where(OpeningSession.family_id == world.family_id)
        )
        assert opening is not None and opening.ended_at is not None


async def test_a_gift_is_logged_checked_and_handed_over_from_home(
    live_app: LiveApp, playwright: Playwright
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    robin = await browser_person(app, world.centre_id, Role.STAFF, "Robin Staff")
    case = await _case(live_app, world)

    browser = await launch(playwright)
    try:
        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, robin)
        await expect(page.get_by_text("No gift is waiting.")).to_be_visible()
        # The family, found by the child's name.
        await page.get_by_label("Find a family").fill("sam")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_role("status")).to_contain_text("1 of")
        await _page_is_fine(page)
        await page.get_by_role("link", name=case).click()
        await _page_is_fine(page)
        await page.get_by_label("What is it?").fill("a blue teddy bear")
        await page.get_by_label("Photo of the gift (optional)").set_input_files(
            files=[{"name": "teddy.png", "mimeType": "image/png", "buffer": picture()}]
        )
        await page.get_by_role("button", name="Log the gift as received").click()
        await expect(page.locator("#gift-list")).to_contain_text("a blue teddy bear")
        await expect(page.locator("#gift-list")).to_contain_text("Received, not checked yet")
        await check_accessibility(page)

        home = page.get_by_role("navigation", name="Main").get_by_role("link", name="Today")
        await home.click()
        waiting = page.locator("#home-gifts-heading + ul")
        await expect(waiting).to_contain_text("received, to be checked")
        await check_accessibility(page)
        await waiting.get_by_role("link", name=re.compile("^Gift for Sam")).click()
        await page.get_by_role("button", name="Mark as checked: a blue teddy bear").click()
        await expect(page.locator("#gift-list")).to_contain_text("Checked, ready to hand over")
        await check_accessibility(page)

        await home.click()
        await expect(waiting).to_contain_text("checked, to hand over")
        await waiting.get_by_role("link", name=re.compile("^Gift for Sam")).click()
        await page.get_by_role(
            "button", name="Mark as handed over to the child: a blue teddy bear"
        ).click()
        await expect(page.locator("#gift-list")).to_contain_text("Handed over to the child")
        await check_accessibility(page)
        await home.click()
        await expect(page.get_by_text("No gift is waiting.")).to_be_visible()
    finally:
        await browser.close()

    async with app[SESSIONMAKER]() as session:
        gift = await session.scalar(
            select(PhysicalGift).where(PhysicalGift.family_id == world.family_id)
        )
        assert gift is not None and gift.status is GiftStatus.HANDED_OVER
        assert gift.photo_object_id is not None


async def test_supervisor_joins_todays_call_from_home(
    live_app: LiveApp, playwright: Playwright
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    sky = await browser_person(app, world.centre_id, Role.SUPERVISOR, "Sky Supervisor")
    call_id = await _book_call_now(live_app, world, sky)

    browser = await launch(
        playwright, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"
    )
    try:
        context = await laptop(browser)
        await context.grant_permissions(["camera", "microphone"], origin=live_app.url)
        page = await context.new_page()
        await sign_in(page, live_app, sky)
        today = page.locator("#today-heading + table")
        await expect(today).to_contain_text("You")
        await today.get_by_role("link", name=re.compile("^Join the call with Sam")).click()
        await expect(page).to_have_url(url_pattern(live_app, f"/calls/{call_id}/join"))
        await expect(page.get_by_role("heading", name="Supervisor console")).to_be_visible()
        await check_accessibility(page)
        await page.get_by_role("button", name="Start the console (camera and microphone)").click()
        # The console, waiting for the parent: labelled controls, a well-formed status list.
        await expect(page.get_by_role("button", name="Admit the parent")).to_be_visible()
        await expect(page.get_by_label("Choose a ready warning")).to_be_visible()
        await check_accessibility(page)
    finally:
        await browser.close()

    # The join is recorded as the console connects; the browser may close first.
    async with asyncio.timeout(60):
        while True:
            async with app[SESSIONMAKER]() as session:
                joined = await session.scalar(
                    select(RecordEvent).where(
                        RecordEvent.family_id == world.family_id, RecordEvent.kind == "call_joined"
                    )
                )
            if joined is not None:
                break
            await asyncio.sleep(0.2)
    assert joined.actor_id == sky.user_id


async def test_admin_makes_a_court_export_and_the_referrer_downloads_it(
    live_app: LiveApp, playwright: Playwright
) -> None:
    app = live_app.server.app
    assert app is not None
    world = await make_world(app)
    alex = await browser_person(app, world.centre_id, Role.ADMIN, "Alex Admin")
    priya = await browser_person(app, world.centre_id, Role.REFERRER, "Priya Solicitor")
    async with seeding_sessionmaker(app).begin() as session:
        now = datetime.now(UTC)
        session.add(
            ReferrerAccess(
                family_id=world.family_id,
                user_id=priya.user_id,
                granted_by=alex.user_id,
                granted_at=now,
                expires_at=now + timedelta(days=30),
            )
        )
    case = await _case(live_app, world)

    browser = await launch(playwright)
    try:
        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, alex)
        await (
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Exports").click()
        )
        await _page_is_fine(page)
        await page.get_by_role("link", name=f"Exports of {case}").click()
        await _page_is_fine(page)
        # The PDF's certificate names the officer of the centre who signs it.
        await page.get_by_label("Certifying officer's full name").fill("Priya Shah")
        await page.get_by_label("Their role").fill("Centre Manager")
        await page.get_by_role("button", name="Make the export").click()
        await expect(page.get_by_role("button", name=re.compile("^Court PDF"))).to_be_visible()
        await check_accessibility(page)

        page = await (await laptop(browser)).new_page()
        await sign_in(page, live_app, priya)
        await page.get_by_role("link", name=f"Exports of {case}").click()
        await _page_is_fine(page)
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name=re.compile("^Court PDF")).click()
        download = await download_info.value
        path = await download.path()
        assert path is not None and path.read_bytes().startswith(b"%PDF-")
        assert download.suggested_filename.endswith(".pdf")
    finally:
        await browser.close()

    async with app[SESSIONMAKER]() as session:
        downloaded = await session.scalar(
            select(RecordEvent).where(
                RecordEvent.family_id == world.family_id, RecordEvent.kind == "export_downloaded"
            )
        )
    assert downloaded is not None and downloaded.actor_id == priya.user_id
