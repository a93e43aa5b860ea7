"""Every word a Welsh reader sees comes from the catalogue (names, numbers and codes excepted).

The catalogue is swapped for a pseudo-translation (each message becomes ⟦message⟧), the
people's language is set to Welsh, and each person's pages are walked by their links from
their home page. Any text left outside the brackets that is not data of the world (a name, a
case reference, a date) is a string no catalogue holds: it would show in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestClient
from babel import Locale
from sqlalchemy import update

import service.i18n.catalogues
import service.i18n.context
import service.i18n.templates
from service.appkeys import SESSIONMAKER, SETTINGS
from service.i18n.extract import extract
from storage.models import User
from tests.support.crawl import crawl
from tests.support.letterbox_world import Person, World, make_world, send_letter

LETTER = "Dear Sam, I hope school is going well. Love from Dad"
_BRACKETED = re.compile(r"⟦.*?⟧", re.DOTALL)
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
    rest = _CODES.sub(" ", _BRACKETED.sub(" ", text))
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


async def _data_of(client: TestClient, world: World) -> set[str]:
    """What the world holds that is shown as it is: names, references, addresses, the letter."""
    async with client.server.app[SESSIONMAKER]() as session:
        users = (await session.execute(User.__table__.select())).all()
    values = {"Sam", "Letterbox", "Cymraeg", "English", "father", LETTER, "Test centre"}
    values.add(client.server.app[SETTINGS].centre_name)
    for row in users:
        values.update({row.display_name, row.email})
    values.update(_welsh_names())
    values.update(LETTER.split())
    return values


async def _walk(client: TestClient, person: Person, home: str, data: set[str]) -> dict[str, list]:
    headers = person.headers(Accept="text/html")
    found = await crawl(client, home, headers, limit=45)
    assert len(found.pages) > 3, f"the crawl from {home} reached only {list(found.pages)}"
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
