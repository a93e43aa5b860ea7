"""The subject access copy is worded in its subject's language: a parent's in their own, a
child's in the family's child language. The reviewer reads the same sentences the PDF and the
JSON release (the page around them stays in the reviewer's language)."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp.test_utils import TestClient
from babel import Locale
from sqlalchemy import update

from storage.models import Family, User
from tests.support.export_world import pdf_pages_text
from tests.support.letterbox_world import World, send_letter
from tests.support.letterbox_world import make_world as letterbox_world
from tests.support.seeding import seeding_sessionmaker

WELSH_HEADINGS = ("Yr wybodaeth sydd gan y ganolfan gyswllt amdanoch chi", "Cyfeirnod yr achos")
WELSH_MONTHS = tuple(Locale.parse("cy").months["format"]["wide"].values())
ENGLISH_MONTHS = tuple(Locale.parse("en").months["format"]["wide"].values())
ENGLISH_HEADINGS = ("What the contact centre holds about you", "Case reference", "What you sent")


async def _family(client: TestClient, *, parent: str, child: str) -> World:
    world = await letterbox_world(client)
    async with seeding_sessionmaker(client.server.app).begin() as session:
        await session.execute(
            update(User).where(User.id == world.parent.user_id).values(language=parent)
        )
        await session.execute(
            update(Family).where(Family.id == world.family_id).values(child_language=child)
        )
    status, _sent = await send_letter(client, world, "Dear Sam, I hope school is fun. Love, Dad")
    assert status == 201
    return world


async def _released(
    client: TestClient, world: World, subject: str, tmp_path: Path
) -> tuple[str, str, dict[str, object]]:
    """The review page before release, then the released PDF's text and the JSON copy."""
    html = world.admin.headers(Accept="text/html")
    started = await client.post(
        f"/admin/families/{world.family_id}/subject-access",
        data={"csrf_token": world.admin.csrf, "subject": subject},
        headers=html,
        allow_redirects=False,
    )
    assert started.status == 303, await started.text()
    path = started.headers["Location"]
    review = await (await client.get(path, headers=html)).text()
    released = await client.post(
        path + "/release", data={"csrf_token": world.admin.csrf}, headers=html
    )
    assert released.status == 200
    pdf = await (await client.get(path + "/pdf", headers=world.admin.headers())).read()
    text = " ".join(" ".join(pdf_pages_text(pdf, tmp_path)).split())
    copy = json.loads(
        await (await client.get(path + "/json", headers=world.admin.headers())).text()
    )
    return review, text, copy


def _entries(copy: dict[str, object]) -> list[str]:
    sections = copy["sections"]
    assert isinstance(sections, list)
    return [e["text"] for s in sections for e in s["entries"]]


async def test_a_welsh_parents_copy_is_in_welsh_and_the_reviewer_sees_the_same_words(
    client: TestClient, tmp_path: Path
) -> None:
    world = await _family(client, parent="cy", child="en")
    review, text, copy = await _released(client, world, f"parent:{world.parent.user_id}", tmp_path)
    for heading in (*WELSH_HEADINGS, "Beth anfonoch chi", "Beth wnaethoch chi, yn ôl cofnod"):
        assert heading in text, heading
    for english in ENGLISH_HEADINGS:
        assert english not in text, english
    assert "Llythyr: yn cael ei wirio" in text
    # Each entry's date is in Welsh too.
    assert any(month in text for month in WELSH_MONTHS)
    assert not any(month in text for month in ENGLISH_MONTHS)
    assert copy["language"] == "cy" and "Llythyr: yn cael ei wirio" in _entries(copy)
    # The reviewer (who reads English) is told the language and reads the released sentences.
    assert "The copy is written in" in review and "Cymraeg" in review
    assert "Llythyr: yn cael ei wirio" in review and "Beth anfonoch chi" in review


async def test_an_english_parents_copy_stays_in_english(client: TestClient, tmp_path: Path) -> None:
    world = await _family(client, parent="en", child="cy")
    _review, text, copy = await _released(client, world, f"parent:{world.parent.user_id}", tmp_path)
    for heading in (*ENGLISH_HEADINGS, "What the family record says you did"):
        assert heading in text, heading
    assert "A letter: being checked" in text
    assert "Beth anfonoch chi" not in text and WELSH_HEADINGS[0] not in text
    assert copy["language"] == "en"


async def test_a_childs_copy_follows_the_familys_child_language_not_the_parents(
    client: TestClient, tmp_path: Path
) -> None:
    welsh_child = await _family(client, parent="en", child="cy")
    _review, text, copy = await _released(
        client, welsh_child, f"child:{welsh_child.child_id}", tmp_path
    )
    assert WELSH_HEADINGS[0] in text and "Llythyrau ac anrhegion a anfonwyd atoch chi" in text
    assert "Llythyr gan [enw wedi'i gadw'n ôl]: yn cael ei wirio" in text
    assert "Letters and gifts sent to you" not in text and "[name withheld]" not in text
    assert copy["language"] == "cy"
    english_child = await _family(client, parent="cy", child="en")
    _review, text, _copy = await _released(
        client, english_child, f"child:{english_child.child_id}", tmp_path
    )
    assert "Letters and gifts sent to you" in text
    assert "A letter from [name withheld]: being checked" in text
    assert WELSH_HEADINGS[0] not in text
