"""Every word a Welsh reader sees comes from the catalogue (names, numbers and codes excepted).

The catalogue is swapped for a pseudo-translation (each message becomes ⟦message⟧), the
people's language is set to Welsh, and each person's pages are walked by their links from
their home page. Any text left outside the brackets that is not data of the world (a name, a
case reference, a date) is a string no catalogue holds: it would show in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from babel import Locale
from sqlalchemy import update

import service.i18n.catalogues
import service.i18n.context
import service.i18n.templates
from service.accounts.tokens import INVITE_LIFETIME, issue_token
from service.appkeys import SESSIONMAKER, SETTINGS
from service.i18n.extract import extract
from storage.models import Family, Role, TokenPurpose, TranslatorAssignment, User
from tests.support.crawl import crawl, read_page
from tests.support.families import add_referrer_with_access
from tests.support.letterbox_world import (
    Person,
    World,
    _user,
    letter_form,
    make_world,
    send_letter,
    sign_in,
    start_opening_session,
)
from tests.support.seeding import seeding_sessionmaker

LETTER = "Dear Sam, I hope school is going well. Love from Dad"
REPLY = "Thank you Dad, I drew a cat"
RETURNED = "Dear Sam, meet me at the park on Saturday"
RETURN_MESSAGE = "Please leave out plans to meet"
GIFT = "A blue teddy bear"
CONCERN = "Sam was quiet and tearful"
# Innermost first: a message's placeholder may hold another message ("⟦by ⟦staff member⟧⟧").
_BRACKETED = re.compile(r"⟦[^⟦⟧]*⟧")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
# Codes shown as they are: case references, time zones, SHA-256 fingerprints.
_CODES = re.compile(r"\bCASE-\w+|\b(GMT|BST|UTC)\b|\b[0-9a-f]{64}\b")


@pytest.fixture
def pseudo_welsh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    table = {text: f"⟦{text}⟧" for text in extract()}

    def translations(language: str) -> dict[str, str]:
        return table if language == "cy" else {}

    for module in (service.i18n.catalogues, service.i18n.context, service.i18n.templates):
        monkeypatch.setattr(module, "translations", translations)
    service.i18n.catalogues.script_translations.cache_clear()
    yield
    service.i18n.catalogues.script_translations.cache_clear()


def _welsh_names() -> set[str]:
    locale = Locale.parse("cy")
    names: set[str] = set()
    for width in ("wide", "abbreviated"):
        names.update(locale.days["format"][width].values())
        names.update(locale.months["format"][width].values())
    return {word for name in names for word in name.split()}


def _untranslated(text: str, data: set[str]) -> list[str]:
    rest = text
    while _BRACKETED.search(rest):
        rest = _BRACKETED.sub(" ", rest)
    rest = _CODES.sub(" ", rest)
    for value in sorted(data, key=len, reverse=True):
        rest = rest.replace(value, " ")
    return [word for word in _LETTERS.findall(rest) if word not in data]


async def _in_welsh(client: TestClient, world: World, *people: Person) -> None:
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(User)
            .where(User.id.in_([person.user_id for person in people]))
            .values(language="cy")
        )


async def _data_of(client: TestClient, world: World, *own_words: str) -> set[str]:
    """What the world holds that is shown as it is: names, references, addresses, the letter."""
    async with client.server.app[SESSIONMAKER]() as session:
        users = (await session.execute(User.__table__.select())).all()
    values = {"Sam", "Letterbox", "Cymraeg", "English", "father", LETTER, "Test centre"}
    values.add(client.server.app[SETTINGS].centre_name)
    for row in users:
        values.update({row.display_name, row.email})
    values.update(_welsh_names())
    values.update(LETTER.split())
    values.update(own_words)
    return values


async def _walk(
    client: TestClient, person: Person, home: str, data: set[str], *, least: int = 4
) -> dict[str, list]:
    headers = person.headers(Accept="text/html")
    found = await crawl(client, home, headers, limit=45)
    assert len(found.pages) >= least, f"the crawl from {home} reached only {list(found.pages)}"
    untranslated: dict[str, list] = {}
    for path, page in found.pages.items():
        words = [(text, _untranslated(text, data)) for text in page.texts]
        missing = [(text, w) for text, w in words if w]
        if missing:
            untranslated[path] = missing
    return untranslated


def _report(untranslated: dict[str, list]) -> str:
    lines = []
    for path, missing in untranslated.items():
        lines.append(path)
        lines += [f"    {text!r}  <- {words}" for text, words in missing[:40]]
    return "\n".join(lines)


@pytest.mark.usefixtures("pseudo_welsh")
async def test_every_word_on_the_parents_and_staff_pages_comes_from_the_catalogue(
    client: TestClient,
) -> None:
    world = await make_world(client)
    status, _ = await send_letter(client, world, LETTER)
    assert status == 201
    await _in_welsh(client, world, world.parent, world.staff, world.admin)
    data = await _data_of(client, world)
    untranslated: dict[str, list] = {}
    for person, home in (
        (world.parent, "/letterbox"),
        (world.staff, "/staff"),
        (world.admin, "/admin"),
    ):
        untranslated.update(await _walk(client, person, home, data))
    assert not untranslated, "English left on Welsh pages:\n" + _report(untranslated)


async def _decide(client: TestClient, person: Person, item_id: str, **decision: str) -> None:
    view = await client.get(f"/api/moderation/items/{item_id}", headers=person.headers())
    body = {"version": (await view.json())["version"], **decision}
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision", json=body, headers=person.headers()
    )
    assert response.status == 200, await response.text()


async def _busy_family(client: TestClient, world: World) -> Person:
    """A letter approved and opened, a reply delivered, a concern about the opening session,
    a physical gift, a letter returned, a contact plan and a booked call: the states a family's pages show after some weeks of contact. Returns
    the call's supervisor."""
    _, opened = await send_letter(client, world, LETTER)
    await _decide(client, world.staff, opened["item_id"], decision="approve")
    session_id, device = await start_opening_session(client, world)
    shown = await client.post(
        f"/api/child/sessions/{session_id}/items/{opened['item_id']}/open", headers=device.headers()
    )
    assert shown.status == 200, await shown.text()
    replied = await client.post(
        f"/api/child/sessions/{session_id}/replies",
        data=letter_form(REPLY),
        headers=device.headers(),
    )
    assert replied.status == 201, await replied.text()
    # The staff member typed the reply, so another moderator approves it.
    await _decide(client, world.staff2, (await replied.json())["item_id"], decision="approve")
    ended = await client.post(
        f"/api/opening-sessions/{session_id}/end", headers=world.staff.headers()
    )
    assert ended.status == 200
    worry = await client.post(
        f"/api/v1/opening-sessions/{session_id}/concern",
        json={"what": CONCERN},
        headers=world.staff.headers(),
    )
    assert worry.status == 201, await worry.text()
    gift = FormData(default_to_multipart=True)
    gift.add_field("from_user_id", str(world.parent.user_id))
    gift.add_field("description", GIFT)
    logged = await client.post(
        f"/api/families/{world.family_id}/gifts", data=gift, headers=world.staff.headers()
    )
    assert logged.status == 201, await logged.text()
    _, returned = await send_letter(client, world, RETURNED)
    await _decide(
        client, world.staff, returned["item_id"], decision="return", message=RETURN_MESSAGE
    )
    plan = await client.post(
        f"/staff/families/{world.family_id}/plan",
        data={
            "csrf_token": world.staff.csrf,
            "starts_on": "2026-09-01",
            "letters_every": "2",
            "letters_unit": "months",
            "gifts_dates": "14/06, 25/12",
        },
        headers=world.staff.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert plan.status == 303, await plan.text()
    supervisor = await _user(client.server.app, world.centre_id, Role.SUPERVISOR, "Supervisor")
    starts = (datetime.now(UTC) + timedelta(days=3)).astimezone(ZoneInfo("Europe/London"))
    booked = await client.post(
        f"/calls/new/{world.family_id}",
        data={
            "csrf_token": world.admin.csrf,
            "child_id": str(world.child_id),
            "supervisor_id": str(supervisor),
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M"),
        },
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert booked.status == 303, await booked.text()
    return await sign_in(client.server.app, supervisor)


@pytest.mark.usefixtures("pseudo_welsh")
async def test_every_word_on_a_busy_familys_pages_comes_from_the_catalogue(
    client: TestClient,
) -> None:
    world = await make_world(client)
    supervisor = await _busy_family(client, world)
    await _in_welsh(client, world, world.parent, world.staff, world.admin, supervisor)
    data = await _data_of(
        client, world, REPLY, RETURNED, RETURN_MESSAGE, GIFT, CONCERN, "Supervisor"
    )
    untranslated: dict[str, list] = {}
    for person, home in (
        (world.parent, "/letterbox"),
        (world.staff, "/staff"),
        (world.admin, "/admin"),
        (supervisor, "/supervisor"),
    ):
        untranslated.update(await _walk(client, person, home, data))
    assert not untranslated, "English left on Welsh pages:\n" + _report(untranslated)


@pytest.mark.usefixtures("pseudo_welsh")
async def test_every_word_before_sign_in_and_on_the_childs_and_referrers_pages_is_catalogued(
    client: TestClient,
) -> None:
    world = await make_world(client)
    status, _ = await send_letter(client, world, LETTER)
    assert status == 201
    app = client.server.app
    async with seeding_sessionmaker(app).begin() as session:
        await session.execute(
            update(Family).where(Family.id == world.family_id).values(child_language="cy")
        )
        referrer = await add_referrer_with_access(
            session,
            world.centre_id,
            world.family_id,
            world.admin.user_id,
            email="referrer@example.org",
            display_name="Rhian Referrer",
        )
        parent = await session.get(User, world.parent.user_id)
        assert parent is not None
        invite = await issue_token(session, parent.id, TokenPurpose.INVITE, INVITE_LIFETIME)
    translator_id = await _user(app, world.centre_id, Role.TRANSLATOR, "Tomos Translator")
    async with seeding_sessionmaker(app).begin() as session:
        session.add(
            TranslatorAssignment(
                user_id=translator_id, family_id=world.family_id, assigned_by=world.admin.user_id
            )
        )
    data = await _data_of(client, world)
    untranslated: dict[str, list] = {}
    # Before signing in: the sign-in page and what it links to, and an invitation.
    signed_out = {"Accept": "text/html", "Accept-Language": "cy"}
    client.session.cookie_jar.clear()  # a new phone: nothing remembered
    for start in ("/sign-in", f"/invite/{invite}"):
        found = await crawl(client, start, signed_out, limit=10)
        for path, page in found.pages.items():
            missing = [(t, w) for t in page.texts if (w := _untranslated(t, data))]
            if missing:
                untranslated[path] = missing
    # The child's screens at the centre (the device is a member of staff's, in English).
    await _in_welsh(client, world)
    session_id, device = await start_opening_session(client, world)
    child_page = await client.get(
        f"/child/sessions/{session_id}", headers=device.headers(Accept="text/html")
    )
    assert child_page.status == 200
    html = await child_page.text()
    texts = read_page(html).texts
    missing = [(t, w) for t in texts if (w := _untranslated(t, data))]
    if missing:
        untranslated["child"] = missing
    # The referrer's pages, and the translator's (their queue and the item they moderate).
    await _in_welsh_ids(client, referrer.id, translator_id)
    person = await sign_in(app, referrer.id)
    untranslated.update(await _walk(client, person, "/referrer", data, least=2))
    translator = await sign_in(app, translator_id)
    untranslated.update(await _walk(client, translator, "/translator", data, least=2))
    assert not untranslated, "English left on Welsh pages:\n" + _report(untranslated)


async def _in_welsh_ids(client: TestClient, *user_ids: object) -> None:
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(update(User).where(User.id.in_(user_ids)).values(language="cy"))
