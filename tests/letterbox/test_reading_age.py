"""Parent and child pages read at a reading age of nine or below (PRODUCT.md 3.9), in English.

Many parents read English as a second language or read little; the child may be four. Every
page of their journeys is served by the app, its visible text measured with the
Flesch-Kincaid grade (tests/support/readability.py), and a page that reads older than nine
fails with its hardest sentences listed. The measure itself is tested first, on texts whose
difficulty is not in doubt.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from service.accounts.tokens import INVITE_LIFETIME, issue_token
from service.appkeys import SESSIONMAKER, SETTINGS
from storage.models import Call, Family, FamilyStatus, TokenPurpose, User
from tests.support.accounts import csrf_from, post_form
from tests.support.letterbox_world import (
    World,
    letter_form,
    make_world,
    picture,
    send_letter,
    start_opening_session,
)
from tests.support.readability import (
    Reading,
    counted_words,
    measure_html,
    measure_text,
    split_sentences,
    syllables,
    visible_blocks,
)
from tests.support.seeding import seeding_sessionmaker

HTML = {"Accept": "text/html"}
MAX_READING_AGE = 9.0
# The child's name and the app's: names, not reading (the centre's name is added per app).
NAMES = ("Sam", "Letterbox")
# Only in development mode, never in front of a real family; and people's own words (a letter,
# a reply, the centre's message), which are theirs to write, not the page's.
NOT_SHOWN = ("dev-banner", "letter-text", "child-letter")
# letterbox.css hides the site's header and footer on the child's view (body.child-view).
NOT_SHOWN_TO_THE_CHILD = (*NOT_SHOWN, "site-header", "site-footer")
UK = ZoneInfo("Europe/London")

CHILDRENS_BOOK = """Sam has a red ball. He kicks it to his dog.
The dog runs fast. It brings the ball back. Sam is happy.
They go home for tea."""
CONTRACT = (
    "Notwithstanding any provision of this agreement to the contrary, the indemnifying party "
    "shall, subject to the limitations set forth herein, defend, indemnify and hold harmless "
    "the indemnified party from and against any and all liabilities, damages, obligations and "
    "expenses arising out of or in connection with any breach of the representations and "
    "warranties contained herein."
)


# --- the measure ------------------------------------------------------------------------


def test_syllables_are_counted_right_for_common_words() -> None:
    known = {
        "cat": 1,
        "the": 1,
        "make": 1,
        "makes": 1,
        "boxes": 2,
        "checked": 1,
        "wanted": 2,
        "little": 2,
        "centre": 2,
        "people": 2,
        "being": 2,
        "video": 3,
        "photos": 2,
        "family": 3,
        "nation": 2,
        "supervisor": 4,
        "e-mail": 2,
        "microphone": 3,
    }
    assert {word: syllables(word) for word in known} == known


def test_a_simple_text_reads_young_and_a_legal_sentence_reads_old() -> None:
    simple = measure_text(CHILDRENS_BOOK)
    legal = measure_text(CONTRACT)
    assert len(simple.sentences) == 6 and len(legal.sentences) == 1
    assert simple.reading_age < 7, simple.report()
    assert legal.reading_age > 20, legal.report()
    assert legal.hardest(1)[0].text.startswith("Notwithstanding")


def test_visible_text_skips_scripts_hidden_inputs_and_attributes_and_splits_blocks() -> None:
    html = """<html><head><title>Hidden title</title><style>p{color:red}</style></head>
    <body><h1>Your letters</h1><script>var notice = "never read";</script>
    <p>Write to Sam. Press <strong>Send</strong> when done.</p>
    <input type="hidden" name="csrf_token" value="Extraordinarily complicated">
    <img alt="Incomprehensible alternative description">
    <a class="button primary" href="/x">Send photos</a><button>Open it</button>
    <ul><li>One</li><li>Two</li></ul><p>Phone 0113 · E-mail a@b.example<br>Open 9:00 to 17:00</p>
    <footer class="site-footer"><p>Shown to the parent, hidden from the child</p></footer>
    </body></html>"""
    blocks = visible_blocks(html)
    assert blocks == [
        "Your letters",
        "Write to Sam. Press Send when done.",
        "Send photos",
        "Open it",
        "One",
        "Two",
        "Phone 0113 · E-mail a@b.example",
        "Open 9:00 to 17:00",
        "Shown to the parent, hidden from the child",
    ]
    assert visible_blocks(html, ["site-footer"]) == blocks[:-1]
    assert split_sentences(blocks)[1:3] == ["Write to Sam.", "Press Send when done."]
    assert "Phone 0113" in split_sentences(blocks) and "E-mail a@b.example" in split_sentences(
        blocks
    )


def test_names_dates_numbers_and_codes_are_not_counted_as_words() -> None:
    sentence = (
        "Sam's letter reached Leeds Contact Centre on Thursday 3 December 2026 at 10:15 as a PDF."
    )
    names = (*NAMES, "Leeds Contact Centre")
    assert counted_words(sentence, names) == ["letter", "reached", "on", "at", "as", "a"]
    assert counted_words("Contact the centre", names) == ["Contact", "the", "centre"]
    assert counted_words("Ask help@centre.example or www.centre.example") == ["Ask", "or"]
    # A sentence with nothing to read is not a sentence for the measure.
    assert measure_text("12:30 – 13:00\nRead this.").sentences[0].text == "Read this."


# --- the pages --------------------------------------------------------------------------


async def _decide(
    client: TestClient, world: World, item_id: str, decision: str, **extra: Any
) -> None:
    view = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff.headers())
    ).json()
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision",
        json={"decision": decision, "version": view["version"], **extra},
        headers=world.staff.headers(),
    )
    assert response.status == 200, await response.text()


async def _public_pages(client: TestClient, world: World) -> dict[str, str]:
    """The pages a parent sees before signing in: sign-in (and its error), the forgotten
    password pages, and the invitation and reset links (a refused weak password, a used link)."""
    pages = {"sign in": await (await client.get("/sign-in")).text()}
    failed = await post_form(
        client, "/sign-in", {"email": "nobody@example.org", "password": "wrong password"}
    )
    pages["sign in, wrong password"] = await failed.text()
    pages["forgotten password"] = await (await client.get("/forgot-password")).text()
    sent = await post_form(client, "/forgot-password", {"email": "nobody@example.org"})
    pages["forgotten password, link sent"] = await sent.text()
    for purpose, prefix in (
        (TokenPurpose.INVITE, "invite"),
        (TokenPurpose.PASSWORD_RESET, "reset"),
    ):
        async with world.app[SESSIONMAKER].begin() as session:
            raw = await issue_token(session, world.parent.user_id, purpose, INVITE_LIFETIME)
        pages[f"{prefix} link"] = await (await client.get(f"/{prefix}/{raw}")).text()
        weak = await post_form(
            client, f"/{prefix}/{raw}", {"password": "short", "confirm": "short"}
        )
        assert weak.status == 422
        pages[f"{prefix} link, weak password"] = await weak.text()
    expired = await client.get("/invite/no-such-link")
    assert expired.status == 422
    pages["an expired link"] = await expired.text()
    assert await csrf_from(client, "/sign-in")
    return pages


async def _a_family_with_everything(client: TestClient) -> tuple[World, dict[str, str]]:
    """A family whose parent has a letter approved, one returned with the centre's message,
    one not passed on, a reply from the child, a draft, a plan, the centre's contact details
    and two calls (one to join now, one later); the paths of the pages that show them."""
    world = await make_world(client)
    saved = await client.post(
        "/admin/centre",
        data={
            "phone": "0113 496 0000",
            "email": "help@centre.example",
            "opening_hours": "Monday to Friday, 9:00 to 17:00",
            "csrf_token": world.admin.csrf,
        },
        headers=world.admin.headers(**HTML),
        allow_redirects=False,
    )
    assert saved.status == 303
    today = datetime.now(UK).date()
    plan = await client.post(
        f"/staff/families/{world.family_id}/plan",
        data={
            "csrf_token": world.staff.csrf,
            "starts_on": (today - timedelta(days=5)).isoformat(),
            "letters_every": "1",
            "letters_unit": "months",
        },
        headers=world.staff.headers(**HTML),
        allow_redirects=False,
    )
    assert plan.status == 303, await plan.text()
    _, approved = await send_letter(client, world, "Hello Sam", [("cat.png", picture())])
    await _decide(client, world, approved["item_id"], "approve")
    _, returned = await send_letter(client, world, "See you at the park")
    await _decide(
        client,
        world,
        returned["item_id"],
        "return",
        message="Please leave out where you live. Then send it again.",
    )
    _, rejected = await send_letter(client, world, "Hi")
    await _decide(client, world, rejected["item_id"], "reject", reason="Not suitable.")
    now = datetime.now(UTC)
    async with seeding_sessionmaker(world.app).begin() as session:
        soon = Call(
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=world.staff.user_id,
            scheduled_by=world.admin.user_id,
            starts_at=now + timedelta(minutes=5),
            ends_at=now + timedelta(minutes=35),
        )
        later = Call(
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=world.staff.user_id,
            scheduled_by=world.admin.user_id,
            starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, minutes=30),
        )
        session.add_all([soon, later])
    draft = await client.put(
        f"/api/families/{world.family_id}/draft",
        json={"text": "Half a letter"},
        headers=world.parent.headers(),
    )
    assert draft.status == 200
    family, old = world.family_id, returned["item_id"]
    return world, {
        "home": "/letterbox",
        "home, just sent": "/letterbox?sent=1",
        "write a letter": f"/families/{family}/letterbox",
        "send photos": f"/families/{family}/letterbox?photos=1",
        "a sent item and its history": f"/letterbox/items/{approved['item_id']}",
        "a returned item": f"/letterbox/items/{old}",
        "an item not passed on": f"/letterbox/items/{rejected['item_id']}",
        "change and send again": f"/families/{family}/letterbox?replaces={old}",
        "my calls": "/calls",
        "join a call": f"/calls/{soon.id}/join",
        "my account": "/account/password",
    }


async def _child_pages(client: TestClient, world: World) -> tuple[dict[str, str], str]:
    """The child's opening session: the start, a letter opened, and after it (with the reply
    form); then the reply the child wrote, approved, as the parent's page to read."""
    session_id, device = await start_opening_session(client, world)
    headers = device.headers(**HTML)
    pages = {
        "child: start": await (
            await client.get(f"/child/sessions/{session_id}", headers=headers)
        ).text()
    }
    (item_id,) = re.findall(r'/items/([0-9a-f-]{36})/open"', pages["child: start"])
    opened = await client.post(
        f"/child/sessions/{session_id}/items/{item_id}/open",
        data={"csrf_token": device.csrf},
        headers=headers,
    )
    assert opened.status == 200, await opened.text()
    pages["child: a letter"] = await opened.text()
    pages["child: write back"] = await (
        await client.get(f"/child/sessions/{session_id}", headers=headers)
    ).text()
    replied = await client.post(
        f"/api/child/sessions/{session_id}/replies",
        data=letter_form("Thank you Dad", [("drawing.png", picture())]),
        headers=device.headers(),
    )
    assert replied.status == 201, await replied.text()
    reply_id = str((await replied.json())["item_id"])
    view = await (
        await client.get(f"/api/moderation/items/{reply_id}", headers=world.staff2.headers())
    ).json()
    approved = await client.post(
        f"/api/moderation/items/{reply_id}/decision",
        json={"decision": "approve", "version": view["version"]},
        headers=world.staff2.headers(),
    )
    assert approved.status == 200, await approved.text()
    return pages, f"/letterbox/items/{reply_id}"


async def test_every_parent_and_child_page_reads_at_age_nine_or_below(
    client: TestClient,
) -> None:
    world, paths = await _a_family_with_everything(client)
    pages = await _public_pages(client, world)
    child_pages, reply_path = await _child_pages(client, world)
    pages.update(child_pages)
    paths["a reply"] = reply_path
    for name, path in paths.items():
        response = await client.get(path, headers=world.parent.headers(**HTML))
        assert response.status == 200, (name, path, response.status)
        pages[name] = await response.text()
    # Sending paused: the home and the writing page say so, and why.
    async with seeding_sessionmaker(world.app).begin() as session:
        await session.execute(
            update(Family).where(Family.id == world.family_id).values(status=FamilyStatus.PAUSED)
        )
    for name, path in (
        ("home, sending paused", "/letterbox"),
        ("write, sending paused", paths["write a letter"]),
    ):
        response = await client.get(path, headers=world.parent.headers(**HTML))
        assert response.status == 200, (name, path, response.status)
        pages[name] = await response.text()
    assert "paused" in pages["write, sending paused"]
    # The pages really show what is measured (a page that lost its text would read easy).
    assert "Your next letter can be sent from" in pages["home"]
    assert "Please leave out where you live." in pages["a returned item"]
    assert "0113 496 0000" in pages["home"] and "Thank you Dad" in pages["a reply"]
    assert "Hello" in pages["child: start"] and 'id="reply-form"' in pages["child: write back"]

    names = (*NAMES, world.app[SETTINGS].centre_name)
    readings: dict[str, Reading] = {
        name: measure_html(
            html, names, NOT_SHOWN_TO_THE_CHILD if name.startswith("child:") else NOT_SHOWN
        )
        for name, html in pages.items()
    }
    # Headings, buttons and labels are short and pull a page's grade down: the running text
    # (sentences of six words or more) must read at nine or below on its own too.
    prose = {name: reading.running_text() for name, reading in readings.items()}
    print("Reading ages (page, running text):")
    for name, reading in readings.items():
        print(f"{reading.reading_age:5.1f} {prose[name].reading_age:5.1f}  {name}")
    too_hard = [
        f"{name}: {reading.report()}"
        for name, reading in readings.items()
        if reading.reading_age > MAX_READING_AGE
    ] + [
        f"{name} (running text): {reading.report()}"
        for name, reading in prose.items()
        if reading.reading_age > MAX_READING_AGE
    ]
    assert not too_hard, "\n\n".join(too_hard)


# Welsh: no formula is validated for Welsh, so the rule is the one Welsh public services
# write by (short sentences, everyday words): measured as sentence length.
MAX_WELSH_SENTENCE_WORDS = 20
# Over the running text (sentences of six words or more), as for the English.
MAX_WELSH_AVERAGE_WORDS = 13.0


async def test_welsh_parent_and_child_pages_keep_to_short_sentences(client: TestClient) -> None:
    world, paths = await _a_family_with_everything(client)
    async with seeding_sessionmaker(world.app).begin() as session:
        await session.execute(
            update(User).where(User.id == world.parent.user_id).values(language="cy")
        )
        await session.execute(
            update(Family).where(Family.id == world.family_id).values(child_language="cy")
        )
    pages, reply_path = await _child_pages(client, world)
    paths["a reply"] = reply_path
    for name, path in paths.items():
        response = await client.get(path, headers=world.parent.headers(**HTML))
        assert response.status == 200, (name, path, response.status)
        pages[name] = await response.text()
    names = (*NAMES, world.app[SETTINGS].centre_name)
    too_long: list[str] = []
    print("Welsh sentence length (running text average, longest):")
    for name, html in pages.items():
        assert '<html lang="cy">' in html, name
        hidden = NOT_SHOWN_TO_THE_CHILD if name.startswith("child:") else NOT_SHOWN
        sentences = split_sentences(visible_blocks(html, hidden))
        lengths = [len(counted_words(s, names)) for s in sentences]
        running = [n for n in lengths if n >= 6] or [0]
        average = sum(running) / len(running)
        print(f"{average:5.1f} {max(lengths):3d}  {name}")
        long_ones = [
            s for s in sentences if len(counted_words(s, names)) > MAX_WELSH_SENTENCE_WORDS
        ]
        if long_ones or average > MAX_WELSH_AVERAGE_WORDS:
            too_long.append(f"{name}: average {average:.1f} words; {long_ones}")
    assert not too_long, "\n".join(too_long)
