"""The parent's journeys (../shared/JOURNEYS.md) on a phone (390x844, touch), in real Chromium,
by taps and typing alone from the sign-in page: first letter with a photo; follow it; a
returned letter changed and sent again; a reply read on its page; a letter typed past the
session's end that is neither lost nor left unsent; a call joined from the home page. One
browser for the whole walk (the suite has a time budget); axe-core on every page visited.

What the centre does meanwhile (moderating, the child replying, booking a call) happens
through its own routes with the staff's sessions: those are other people's journeys."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, Playwright, expect
from sqlalchemy import delete, select

from service.appkeys import SESSIONMAKER
from service.calls.registry import JOIN_EARLY
from service.notify import CONTACT_BOOK
from storage.models import (
    Call,
    Centre,
    Direction,
    Item,
    ItemKind,
    ItemStatus,
    RecordEvent,
    User,
    WebSession,
)
from tests.support.browser import (
    LiveApp,
    check_accessibility,
    new_browser,
    newest_sent,
    screenshot,
    tap_to,
)
from tests.support.letterbox_world import STAFF_PASSWORD, World, make_world, picture
from tests.support.seeding import seeding_sessionmaker

pytestmark = pytest.mark.browser

FIRST = "Dear Sam, I miss you. Here is a photo of the cat."
RETURNED_MESSAGE = "Please do not say where we could meet. Change that line and send it again."
LONG_LETTER = "Dear Sam, this is a long letter that I am writing slowly on my phone. " * 4


async def _staff(live: LiveApp, world: World, who: str, method: str, path: str, **kw: Any) -> Any:
    person = getattr(world, who)
    headers = {**person.headers(), "Origin": live.url}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, live.url + path, headers=headers, **kw) as response,
    ):
        assert response.status in (200, 201), await response.text()
        return await response.json(), response.cookies


async def _decide(
    live: LiveApp, world: World, item_id: uuid.UUID, decision: str, **extra: Any
) -> None:
    view, _ = await _staff(live, world, "staff", "GET", f"/api/moderation/items/{item_id}")
    await _staff(
        live,
        world,
        "staff",
        "POST",
        f"/api/moderation/items/{item_id}/decision",
        json={"decision": decision, "version": view["version"], **extra},
    )


async def _reply(live: LiveApp, world: World, text: str) -> None:
    started, cookies = await _staff(
        live,
        world,
        "staff",
        "POST",
        f"/api/families/{world.family_id}/opening-sessions",
        json={"child_id": str(world.child_id)},
    )
    device = world.staff.headers()
    device["Cookie"] += f"; letterbox-child={cookies['letterbox-child'].value}"
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("text", text)
    form.add_field("files", picture(), filename="drawing.png", content_type="image/png")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{live.url}/api/child/sessions/{started['session_id']}/replies",
            data=form,
            headers={**device, "Origin": live.url},
        ) as response,
    ):
        assert response.status == 201, await response.text()
        reply_id = (await response.json())["item_id"]
    view, _ = await _staff(live, world, "staff2", "GET", f"/api/moderation/items/{reply_id}")
    await _staff(
        live,
        world,
        "staff2",
        "POST",
        f"/api/moderation/items/{reply_id}/decision",
        json={"decision": "approve", "version": view["version"]},
    )


async def _visit(page: Page, name: str | None = None) -> None:
    await page.wait_for_load_state("load")
    await check_accessibility(page)
    if name:
        await screenshot(page, name)


async def _sign_in(page: Page, email: str) -> None:
    await expect(page.get_by_label("Email address")).to_be_visible()
    await _visit(page)
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(STAFF_PASSWORD)
    await tap_to(page, page.get_by_role("button", name="Sign in"))


async def test_parent_journeys_by_taps_alone_on_a_phone(
    live_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    live = live_app
    world = await make_world(live.server.app)
    async with live.server.app[SESSIONMAKER].begin() as session:
        user = await session.get(User, world.parent.user_id)
        assert user is not None
        # Addresses are kept as a person signs in with them: in lower case.
        user.email = email = user.email.lower()
        centre = await session.get(Centre, world.centre_id)
        assert centre is not None
        centre.contact_phone, centre.contact_email = "0113 496 0000", "help@centre.example"
        centre.opening_hours = "Monday to Friday, 9:00 to 17:00"
    # As when an admin saves them on the centre page (that journey is the admin's).
    await live.server.app[CONTACT_BOOK].refresh(live.server.app[SESSIONMAKER])
    context = await new_browser(playwright, tmp_path / "phone", phone=True, media=True)
    try:
        page = context.pages[0] if context.pages else await context.new_page()
        # The one address typed: the sign-in page (the journeys start there or at an e-mail).
        await page.goto(live.url + "/sign-in")
        await _sign_in(page, email)

        # 1. First letter: home → "Write a letter" → words and a photo → send → "Being checked".
        await expect(page.get_by_role("heading", name="My letterbox")).to_be_visible()
        await _visit(page)
        await tap_to(page, page.get_by_role("link", name="Write a letter"))
        await _visit(page)
        await page.get_by_label("Your letter", exact=True).fill(FIRST)
        photo = tmp_path / "cat.png"
        photo.write_bytes(picture((640, 480)))
        await page.get_by_label("Photos or documents").set_input_files(str(photo))
        await page.get_by_role("button", name="Send letter").tap()
        await expect(page.get_by_role("status").first).to_contain_text("Being checked")
        first_row = page.locator(".conversation li").first
        await expect(first_row).to_contain_text("Letter you sent")
        await expect(first_row).to_contain_text("Being checked")
        await expect(first_row).to_contain_text("1 picture")
        # 7. Help: the centre's phone number and e-mail are on the page.
        await expect(page.get_by_role("contentinfo")).to_contain_text("0113 496 0000")
        await expect(page.get_by_role("link", name="help@centre.example")).to_be_visible()
        await _visit(page, "parent-home")

        # 2. Follow it: approved behind the scenes; the item's page has its dated history.
        first_id = await newest_sent(live, world.parent.user_id)
        await _decide(live, world, first_id, "approve")
        await page.reload()
        await tap_to(page, first_row.get_by_role("link"))
        await expect(page.locator(".sent-text")).to_have_text(FIRST)
        await expect(page.locator("img.sent-picture")).to_be_visible()
        await expect(page.locator(".history li")).to_have_count(3)
        await expect(page.locator(".history")).to_contain_text("Approved")
        await _visit(page, "parent-sent-item")
        await tap_to(page, page.get_by_role("link", name="Back to my letterbox"))

        # 3. Returned: the centre's message first, "Change and send again", the letter in the
        # form, the picture kept, sent again.
        await tap_to(page, page.get_by_role("link", name="Write a letter"))
        await page.get_by_label("Your letter", exact=True).fill(
            "Dear Sam, see you at the park on Saturday."
        )
        await page.get_by_label("Photos or documents").set_input_files(str(photo))
        await page.get_by_role("button", name="Send letter").tap()
        await expect(page.get_by_role("heading", name="My letterbox")).to_be_visible()
        returned_id = await newest_sent(live, world.parent.user_id)
        await _decide(live, world, returned_id, "return", message=RETURNED_MESSAGE)
        await page.reload()
        row = page.locator(".conversation li").first
        await expect(row).to_contain_text("Returned to you")
        await tap_to(page, row.get_by_role("link"))
        await expect(page.locator(".return-message")).to_have_text(RETURNED_MESSAGE)
        await _visit(page, "parent-returned-item")
        await tap_to(page, page.get_by_role("link", name="Change and send again"))
        text = page.get_by_label("Your letter", exact=True)
        await expect(text).to_have_value("Dear Sam, see you at the park on Saturday.")
        await expect(page.get_by_label("Keep picture 1")).to_be_checked()
        await _visit(page, "parent-change-and-send-again")
        await text.fill("Dear Sam, I hope you have a lovely Saturday.")
        await page.get_by_role("button", name="Send letter").tap()
        await expect(page.get_by_role("heading", name="My letterbox")).to_be_visible()
        resent_id = await newest_sent(live, world.parent.user_id)
        async with live.server.app[SESSIONMAKER]() as session:
            resent = await session.get(Item, resent_id)
            assert resent is not None and resent.replaces_item_id == returned_id

        # 4. A reply: read on its own page, the picture shown.
        await _reply(live, world, "Thank you Dad! I drew you a cat.")
        await page.reload()
        reply_row = page.locator(".conversation li", has_text="Reply from Sam")
        await tap_to(page, reply_row.get_by_role("link"))
        await expect(page.locator(".reply-text")).to_have_text("Thank you Dad! I drew you a cat.")
        image = page.locator("img.reply-picture")
        await expect(image).to_be_visible()
        assert await image.evaluate("i => i.complete && i.naturalWidth > 0")
        await _visit(page, "parent-reply")
        await tap_to(page, page.get_by_role("link", name="Back to my letterbox"))

        # 6. Interrupted: a long letter, saved as typed; the session ends (idle time-out);
        # signing in again lands back in the draft; the session ends again just before Send,
        # the password is asked on the page, and the letter is saved and sent.
        await tap_to(page, page.get_by_role("link", name="Write a letter"))
        await page.get_by_label("Your letter", exact=True).fill(LONG_LETTER)
        await expect(page.locator("#draft-status")).to_contain_text("Saved at")
        await _end_sessions(live, world)
        await tap_to(page, page.get_by_role("link", name="Back to my letterbox"))
        await _sign_in(page, email)
        await tap_to(page, page.get_by_role("link", name="Carry on writing it"))
        await expect(page.get_by_label("Your letter", exact=True)).to_have_value(LONG_LETTER)
        await _visit(page, "parent-draft-recovered")
        await _end_sessions(live, world)
        await page.get_by_label("Your letter", exact=True).press("Control+End")
        await page.get_by_label("Your letter", exact=True).type(" Love, Dad")
        await page.get_by_role("button", name="Send letter").tap()
        await expect(
            page.get_by_label("Type your password to sign in again and send it")
        ).to_be_visible()
        await expect(page.get_by_label("Your letter", exact=True)).to_have_value(
            LONG_LETTER + " Love, Dad"
        )
        await _visit(page)
        await page.get_by_label("Type your password to sign in again and send it").fill(
            STAFF_PASSWORD
        )
        await page.get_by_role("button", name="Sign in and send").tap()
        await expect(page.get_by_role("heading", name="My letterbox")).to_be_visible()
        await tap_to(page, page.locator(".conversation li").first.get_by_role("link"))
        await expect(page.locator(".sent-text")).to_have_text(LONG_LETTER + " Love, Dad")
        await tap_to(page, page.get_by_role("link", name="Back to my letterbox"))

        # 5. A call: booked so that it can be joined a few seconds from now. The home page,
        # already open, turns its "Join" button on at that moment.
        now = datetime.now(UTC) + JOIN_EARLY - timedelta(minutes=10) + timedelta(seconds=6)
        async with seeding_sessionmaker(live.server.app).begin() as session:
            call = Call(
                family_id=world.family_id,
                child_id=world.child_id,
                supervisor_id=world.staff.user_id,
                scheduled_by=world.admin.user_id,
                starts_at=now + timedelta(minutes=10),
                ends_at=now + timedelta(minutes=40),
            )
            session.add(call)
        await page.reload()
        await expect(page.get_by_text("The “Join” button shows here from")).to_be_visible()
        await expect(page.get_by_role("link", name="Join the call")).to_be_visible()
        await expect(page.get_by_text("The “Join” button shows here from")).to_be_hidden()
        await tap_to(page, page.get_by_role("link", name="My calls").first)
        await expect(page.locator(".call-row").first).to_contain_text("You can join now")
        await _visit(page, "parent-my-calls")
        await tap_to(page, page.get_by_role("link", name="My letterbox", exact=True))
        await tap_to(page, page.get_by_role("link", name="Join the call"))
        await expect(page.get_by_role("heading", name="Your video call")).to_be_visible()
        assert re.search(rf"/calls/{call.id}/join$", page.url)
        await expect(page.locator("#label-supervisor")).to_have_text("Supervisor")
        await expect(page.locator("#label-child")).to_have_text("Sam")
        await _visit(page, "parent-call-intro")
        await page.get_by_role("button", name="Turn on my camera and microphone").tap()
        await expect(page.get_by_role("heading", name="Waiting room")).to_be_visible()
        mute = page.get_by_role("button", name="Mute")
        await mute.tap()
        await expect(page.get_by_role("button", name="Unmute")).to_have_attribute(
            "aria-pressed", "true"
        )
        assert await page.evaluate(
            "document.getElementById('video-self').srcObject.getAudioTracks()"
            ".every(t => !t.enabled)"
        )
        await page.get_by_role("button", name="Camera off").tap()
        await expect(page.get_by_role("button", name="Camera on")).to_be_visible()
        assert await page.evaluate(
            "document.getElementById('video-self').srcObject.getVideoTracks()"
            ".every(t => !t.enabled)"
        )
        await _visit(page, "parent-call-waiting")
        # "Sign out" asks first: saying no keeps the call.
        asked: list[str] = []

        async def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            await (dialog.accept() if "Leave" in dialog.message else dialog.dismiss())

        page.on("dialog", answer)
        await page.get_by_role("button", name="Sign out").tap()
        await expect(page.get_by_role("heading", name="Waiting room")).to_be_visible()
        assert asked and "ends your call" in asked[0]
        # "Leave" asks too; yes goes back to "My calls".
        await tap_to(page, page.get_by_role("link", name="Leave"))
        await expect(page.get_by_role("heading", name="My calls")).to_be_visible()
        assert "Leave the call?" in asked[-1]
    finally:
        await context.close()


async def _end_sessions(live: LiveApp, world: World) -> None:
    """The idle time-out, as the server applies it: the parent's sessions are gone."""
    async with live.server.app[SESSIONMAKER].begin() as session:
        await session.execute(delete(WebSession).where(WebSession.user_id == world.parent.user_id))


async def test_a_letter_beyond_the_plan_waits_for_staff_and_the_parent_is_told_why(
    live_app: LiveApp, playwright: Playwright, tmp_path: Path
) -> None:
    # The plan allows a letter every two months; this period's one has already gone. The
    # parent may still write: the letter is kept for staff, never dropped, and the parent is
    # told so in plain words on the page where they pressed "Send".
    live = live_app
    world = await make_world(live.server.app)
    today = datetime.now(UTC).date()
    # Set by staff on the family's plan page (that journey is theirs).
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{live.url}/staff/families/{world.family_id}/plan",
            data={
                "csrf_token": world.staff.csrf,
                "starts_on": (today - timedelta(days=10)).isoformat(),
                "letters_every": "2",
                "letters_unit": "months",
            },
            headers={**world.staff.headers(), "Origin": live.url, "Accept": "text/html"},
            allow_redirects=False,
        ) as response,
    ):
        assert response.status == 303, await response.text()
    async with seeding_sessionmaker(live.server.app).begin() as session:
        session.add(
            Item(
                family_id=world.family_id,
                direction=Direction.TO_CHILD,
                kind=ItemKind.LETTER,
                sender_id=world.parent.user_id,
                child_id=world.child_id,
                status=ItemStatus.OPENED,
                submitted_at=datetime.now(UTC) - timedelta(days=3),
            )
        )
    async with live.server.app[SESSIONMAKER].begin() as session:
        user = await session.get(User, world.parent.user_id)
        assert user is not None
        user.email = email = user.email.lower()  # as a person signs in with it
    context = await new_browser(playwright, tmp_path / "phone", phone=True)
    try:
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto(live.url + "/sign-in")
        await _sign_in(page, email)
        await tap_to(page, page.get_by_role("link", name="Write a letter"))
        await page.get_by_label("Your letter", exact=True).fill("Dear Sam, one more letter.")
        await page.get_by_role("button", name="Send letter").tap()
        note = page.get_by_role("status").first
        await expect(note).to_contain_text("allows one letter in this period")
        await expect(note).to_contain_text("wait for the centre's staff")
        await _visit(page)
        await tap_to(page, page.get_by_role("link", name="Back to my letterbox"))
        newest = page.locator(".conversation li").first
        await expect(newest).to_contain_text("Being checked")
    finally:
        await context.close()
    async with live.server.app[SESSIONMAKER]() as session:
        kinds = list(
            await session.scalars(
                select(RecordEvent.kind).where(RecordEvent.family_id == world.family_id)
            )
        )
    assert "item_beyond_plan" in kinds
