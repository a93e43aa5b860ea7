"""The contact plan, safeguarding concerns and subject access in real Chromium, each journey
from the sign-in page by clicks and typing only: a support worker raises a concern from an item
on the moderation page, the parent still sees only "Being checked", and the safeguarding lead
finds it from their home, acknowledges it and records the action; an admin sets a family's
contact plan and the parent sees when their next letter can be sent; an admin starts a subject
access request, reviews the blacked-out parts, shows one with a reason and downloads the PDF.
One Chromium for the whole module (started once, each test connecting to it over the DevTools
protocol from its own event loop), a fresh context per person; axe-core on every page on the
way."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Playwright, expect
from sqlalchemy import select

from service.appkeys import KEYRING, SESSIONMAKER
from storage.models import (
    ConcernStatus,
    Family,
    Item,
    RecordEvent,
    Role,
    SafeguardingConcern,
    User,
)
from tests.support.browser import (
    LiveApp,
    check_accessibility,
    chromium_over_devtools,
    laptop,
    url_pattern,
)
from tests.support.centre_day import BrowserPerson, browser_person, parent_sends, sign_in
from tests.support.export_world import pdf_pages_text
from tests.support.families import add_other_parent_and_sister
from tests.support.letterbox_world import STAFF_PASSWORD, World, make_world
from tests.support.seeding import seeding_sessionmaker

pytestmark = pytest.mark.browser

LETTER = "Dear Sam, Jordan says hello and Matilda misses you. Love from Dad"
BLOCK = "█████"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Chromium for the module (tests.support.browser.chromium_over_devtools)."""
    yield from chromium_over_devtools(tmp_path_factory.mktemp("chromium"))


@pytest.fixture
async def browser(playwright: Playwright, chromium: str) -> AsyncIterator[Browser]:
    """This test's connection to the module's Chromium: closing it closes the contexts the
    test opened (each person's cookies go with them), and the browser goes on."""
    connected = await playwright.chromium.connect_over_cdp(chromium)
    try:
        yield connected
    finally:
        await connected.close()


async def _world(live: LiveApp) -> tuple[World, str, str]:
    """A family with a second parent (Jordan Blake) and Sam's sister Matilda; the parent's
    sign-in address (lower case, as typed) and the case reference."""
    app = live.server.app
    world = await make_world(app)
    async with seeding_sessionmaker(app).begin() as session:
        await add_other_parent_and_sister(session, app[KEYRING], world.centre_id, world.family_id)
        parent = await session.get(User, world.parent.user_id)
        family = await session.get(Family, world.family_id)
        assert parent is not None and family is not None
        parent.email = email = parent.email.lower()
        case = family.case_reference
    return world, email, case


async def _open(browser: Browser) -> Page:
    return await (await laptop(browser)).new_page()


async def _parent_signs_in(page: Page, live: LiveApp, email: str) -> None:
    await page.goto(live.url + "/sign-in")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="My letterbox")).to_be_visible()
    await check_accessibility(page)


async def _admin_opens_family(page: Page, live: LiveApp, admin: BrowserPerson, case: str) -> None:
    await sign_in(page, live, admin)
    await page.get_by_role("link", name=re.compile(r"active famil")).click()
    await expect(page.get_by_role("heading", name="Families", level=1)).to_be_visible()
    await check_accessibility(page)
    await page.get_by_role("link", name=case, exact=True).click()
    await expect(page.get_by_role("heading", name=f"Family {case}")).to_be_visible()
    await check_accessibility(page)


async def test_a_concern_raised_from_moderation_is_acknowledged_and_actioned_by_the_lead(
    live_app: LiveApp, browser: Browser
) -> None:
    live = live_app
    app = live.server.app
    world, email, case = await _world(live)
    worker = await browser_person(app, world.centre_id, Role.STAFF, "Robin Worker")
    lead = await browser_person(app, world.centre_id, Role.STAFF, "Lee Lead")
    async with app[SESSIONMAKER].begin() as session:
        lead_user = await session.get(User, lead.user_id)
        assert lead_user is not None
        lead_user.safeguarding_lead = True
    item_id = await parent_sends(live, world, LETTER)
    worry = "The letter hints the father knows where the child's school is."
    action = "Shared with the local authority children's services on 3 December"

    # 1. The support worker, from their home, opens the item and raises a concern.
    page = await _open(browser)
    await sign_in(page, live, worker)
    await page.get_by_role("link", name="Open the list waiting for review").click()
    await check_accessibility(page)
    row = page.get_by_role("row").filter(has_text="Dear Sam")
    await row.get_by_role("link", name=re.compile("^Review")).click()
    await expect(page).to_have_url(url_pattern(live, f"/staff/moderation/items/{item_id}"))
    await check_accessibility(page)
    await page.get_by_role("link", name="Raise a safeguarding concern about this item").click()
    await expect(page.get_by_role("heading", name="Raise a safeguarding concern")).to_be_visible()
    await check_accessibility(page)
    await page.get_by_label("What did you see or hear that worries you?").fill(worry)
    await page.get_by_role("button", name="Raise the concern").click()
    await expect(page.get_by_role("status")).to_contain_text("The concern is raised")
    await check_accessibility(page)

    # 2. The parent sees only "Being checked": nothing tells them of a concern.
    parent = await _open(browser)
    await _parent_signs_in(parent, live, email)
    first = parent.locator(".conversation li").first
    await expect(first).to_contain_text("Being checked")
    body = (await parent.locator("body").inner_text()).lower()
    assert "concern" not in body and "safeguarding" not in body

    # 3. The lead finds it from their home, acknowledges it and records the action.
    page = await _open(browser)
    await sign_in(page, live, lead)
    await page.get_by_role("link", name="Safeguarding concerns").click()
    await expect(page.get_by_role("heading", name="Safeguarding concerns")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=case)
    await expect(row).to_contain_text("Waiting for the lead")
    await check_accessibility(page)
    await row.get_by_role("link", name=re.compile("^Open the concern raised")).click()
    await expect(page.get_by_text(worry)).to_be_visible()
    await check_accessibility(page)
    await page.get_by_role("button", name="Acknowledge the concern").click()
    await expect(page.get_by_role("button", name="Acknowledge the concern")).to_have_count(0)
    await page.get_by_label("The action taken").fill(action)
    await page.get_by_role("button", name="Record the action").click()
    await expect(page.get_by_role("status")).to_contain_text("The action taken is recorded")
    await expect(page.get_by_role("row").filter(has_text=case)).to_contain_text("Action recorded")
    await check_accessibility(page)

    async with app[SESSIONMAKER]() as session:
        concern = await session.scalar(
            select(SafeguardingConcern).where(SafeguardingConcern.item_id == item_id)
        )
        item = await session.get(Item, item_id)
        kinds = list(
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.kind.like("concern_%"))
                .order_by(RecordEvent.seq)
            )
        )
    assert concern is not None and concern.status is ConcernStatus.ACTIONED
    assert item is not None and item.withheld_at is not None
    assert kinds == ["concern_raised", "concern_acknowledged", "concern_action_recorded"]


async def test_an_admin_sets_the_contact_plan_and_the_parent_sees_when_the_next_letter_is_due(
    live_app: LiveApp, browser: Browser
) -> None:
    live = live_app
    app = live.server.app
    world, email, case = await _world(live)
    admin = await browser_person(app, world.centre_id, Role.ADMIN, "Alex Admin")
    start = datetime.now(live.settings.zone).date() + timedelta(days=3)

    page = await _open(browser)
    await _admin_opens_family(page, live, admin, case)
    await page.get_by_role("link", name="Contact plan").click()
    await expect(page.get_by_role("heading", name="Contact plan", exact=True)).to_be_visible()
    await check_accessibility(page)
    await page.get_by_label("The order's reference").fill("ZW24C00123")
    await page.get_by_label("Starts on (YYYY-MM-DD)").fill(start.isoformat())
    await page.get_by_label("One every (number)").first.fill("2")
    await page.get_by_role("button", name="Save the plan").click()
    await expect(
        page.get_by_role("heading", name=re.compile("^Due, sent and overdue"))
    ).to_be_visible()
    await expect(page.get_by_text("ZW24C00123")).to_be_visible()
    await check_accessibility(page)

    parent = await _open(browser)
    await _parent_signs_in(parent, live, email)
    note = parent.get_by_role("note").filter(has_text="Your next letter")
    await expect(note).to_contain_text(
        f"Your next letter can be sent from {start.strftime('%-d %B %Y')}"
    )
    await expect(note).to_contain_text("is due by")


async def test_an_admin_reviews_a_subject_access_copy_shows_one_part_and_downloads_the_pdf(
    live_app: LiveApp, browser: Browser, tmp_path: Path
) -> None:
    live = live_app
    app = live.server.app
    world, _, case = await _world(live)
    admin = await browser_person(app, world.centre_id, Role.ADMIN, "Alex Admin")
    await parent_sends(live, world, LETTER)
    reason = "Sam lives with his sister; showing her name tells him nothing new"

    page = await _open(browser)
    await _admin_opens_family(page, live, admin, case)
    await page.get_by_role("link", name="Subject access").click()
    await expect(page.get_by_role("heading", name=re.compile("^Subject access"))).to_be_visible()
    await check_accessibility(page)
    await page.get_by_label("Whose information").select_option(label="Sam (child)")
    await page.get_by_role("button", name="Gather what we hold").click()
    await expect(
        page.get_by_role("heading", name="What the centre holds about Sam")
    ).to_be_visible()
    await check_accessibility(page)
    # Each blacked-out part is shown to the reviewer with who it is.
    await expect(page.get_by_text("“Jordan” (a parent) is blacked out.")).to_be_visible()
    await expect(page.get_by_text("“Matilda” (another child) is blacked out.")).to_be_visible()
    await page.get_by_label("Why “Matilda” may be shown").fill(reason)
    await page.get_by_role("button", name="Show “Matilda”").click()
    await expect(
        page.get_by_text(f"“Matilda” (another child) is shown. Reason: {reason}")
    ).to_be_visible()
    await check_accessibility(page)
    await page.get_by_role("button", name="Release the copy").click()
    await expect(page.get_by_role("link", name="Download the PDF")).to_be_visible()
    await check_accessibility(page)
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Download the PDF").click()
    download = await waiting.value
    saved = tmp_path / "copy.pdf"
    await download.save_as(saved)

    text = " ".join(" ".join(pdf_pages_text(saved.read_bytes(), tmp_path)).split())
    assert f"Dear Sam, {BLOCK} says hello and Matilda misses you" in text
    assert "Jordan" not in text
    async with app[SESSIONMAKER]() as session:
        kinds = list(
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.kind.like("subject_access_%"))
                .order_by(RecordEvent.seq)
            )
        )
    assert kinds == [
        "subject_access_started",
        "subject_access_span_decided",
        "subject_access_released",
    ]
