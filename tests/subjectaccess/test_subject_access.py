"""Subject access: what the centre holds about one person, gathered with other people's
names withheld by default, reviewed, released as PDF and JSON within a month; recorded."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import KEYRING, SESSIONMAKER
from service.letterbox.opening import NOTE_PURPOSE
from service.subjectaccess.requests import BLACKED_OUT, WITHHELD, one_month_after
from storage.models import (
    ContactLevel,
    Direction,
    Item,
    ItemKind,
    ItemStatus,
    ObservationNote,
    OpeningSession,
    RecordEvent,
)
from tests.support.calls import CallWorld, cookie_header, make_world
from tests.support.export_world import pdf_pages_text
from tests.support.families import add_other_parent_and_sister
from tests.support.letterbox_world import World, send_letter
from tests.support.letterbox_world import make_world as letterbox_world
from tests.support.seeding import seeding_sessionmaker


def test_the_deadline_is_one_calendar_month() -> None:
    assert one_month_after(date(2026, 1, 31)) == date(2026, 2, 28)
    assert one_month_after(date(2026, 12, 2)) == date(2027, 1, 2)


async def _history(client: TestClient, world: CallWorld) -> None:
    async with seeding_sessionmaker(client.server.app).begin() as session:
        session.add(
            Item(
                family_id=world.family_id,
                direction=Direction.TO_CHILD,
                kind=ItemKind.LETTER,
                sender_id=world.users["parent"],
                child_id=world.child_id,
                status=ItemStatus.APPROVED,
            )
        )
        session.add(
            OpeningSession(
                family_id=world.family_id, child_id=world.child_id, staff_id=world.users["staff"]
            )
        )


async def test_a_childs_request_withholds_other_names_until_the_reviewer_shows_them(
    client: TestClient, tmp_path: Path
) -> None:
    app = client.server.app
    world = await make_world(app)
    await _history(client, world)
    admin = cookie_header(app, world.cookies["admin"])
    base = f"/admin/families/{world.family_id}/subject-access"
    listing = await client.get(base, headers=admin)
    assert listing.status == 200 and "Sam (child)" in await listing.text()
    started = await client.post(
        base,
        data={"csrf_token": world.csrf["admin"], "subject": f"child:{world.child_id}"},
        headers=admin,
        allow_redirects=False,
    )
    assert started.status == 303
    review_path = started.headers["Location"]
    review = await (await client.get(review_path, headers=admin)).text()
    assert WITHHELD in review and "A letter from [name withheld]" in review
    assert "With [name withheld]" in review
    # Nothing leaves before the review.
    assert (await client.get(review_path + "/pdf", headers=admin)).status == 404
    staff_key = re.search(r'value="(p\d)"> <label for="reveal-p\d">Staff<', review)
    assert staff_key is not None
    released = await client.post(
        review_path + "/release",
        data={"csrf_token": world.csrf["admin"], "reveal": staff_key.group(1)},
        headers=admin,
        allow_redirects=False,
    )
    assert released.status == 303
    pdf = await (await client.get(review_path + "/pdf", headers=admin)).read()
    text = " ".join(" ".join(pdf_pages_text(pdf, tmp_path)).split())
    assert "What the contact centre holds about you" in text and "Sam" in text
    assert "With Staff" in text and "A letter from [name withheld]" in text
    assert "Parent" not in text
    copy = json.loads(await (await client.get(review_path + "/json", headers=admin)).text())
    entries = [e["text"] for s in copy["sections"] for e in s["entries"]]
    assert "With Staff" in entries and not any("Parent" in e for e in entries)
    async with app[SESSIONMAKER]() as session:
        kinds = list(
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.kind.like("subject_access_%"))
                .order_by(RecordEvent.seq)
            )
        )
    assert kinds == ["subject_access_started", "subject_access_released"]


async def test_only_admins_start_requests_and_parents_reach_nothing(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    base = f"/admin/families/{world.family_id}/subject-access"
    for who in ("staff", "parent"):
        response = await client.post(
            base,
            data={"csrf_token": world.csrf[who], "subject": f"parent:{world.users['parent']}"},
            headers=cookie_header(app, world.cookies[who]),
            allow_redirects=False,
        )
        assert response.status == 403, who
    wrong = await client.post(
        base,
        data={"csrf_token": world.csrf["admin"], "subject": f"parent:{world.users['staff']}"},
        headers=cookie_header(app, world.cookies["admin"]),
    )
    assert wrong.status == 404 and "not a sender of this family" in await wrong.text()


async def _family_with_others(
    client: TestClient, level: ContactLevel = ContactLevel.SUPPORTED
) -> tuple[World, uuid.UUID]:
    """A letterbox family whose parent writes to Sam about the other parent and a sister."""
    app = client.server.app
    world = await letterbox_world(client, terms=["Oakfield Primary"], level=level)
    async with seeding_sessionmaker(app).begin() as session:
        await add_other_parent_and_sister(session, app[KEYRING], world.centre_id, world.family_id)
    status, sent = await send_letter(
        client,
        world,
        "Dear Sam, Jordan says hello and Matilda misses you at Oakfield. "
        "Ring me on 07700 900123. Love from Dad",
    )
    assert status == 201
    return world, uuid.UUID(sent["item_id"])


async def _start(client: TestClient, world: World, subject: str) -> str:
    started = await client.post(
        f"/admin/families/{world.family_id}/subject-access",
        data={"csrf_token": world.admin.csrf, "subject": subject},
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert started.status == 303, await started.text()
    return started.headers["Location"]


async def test_a_childs_copy_blacks_out_other_peoples_names_in_letters_and_keeps_the_childs(
    client: TestClient, tmp_path: Path
) -> None:
    world, _ = await _family_with_others(client)
    review_path = await _start(client, world, f"child:{world.child_id}")
    review = await (
        await client.get(review_path, headers=world.admin.headers(Accept="text/html"))
    ).text()
    # The reviewer sees each blacked-out part and who it is.
    for words, label in (
        ("Jordan", "a parent"),
        ("Matilda", "another child"),
        ("Oakfield", "sensitive words"),
        ("07700 900123", "phone number"),
    ):
        assert re.search(rf">{words}</mark> <small>\[blacked out: [^\]]*{label}", review), words
    released = await client.post(
        review_path + "/release",
        data={"csrf_token": world.admin.csrf},
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert released.status == 303
    pdf = await (await client.get(review_path + "/pdf", headers=world.admin.headers())).read()
    text = " ".join(" ".join(pdf_pages_text(pdf, tmp_path)).split())
    copy = json.loads(
        await (await client.get(review_path + "/json", headers=world.admin.headers())).text()
    )
    words = " ".join(e.get("words", "") for s in copy["sections"] for e in s["entries"])
    for out in (text, words):
        assert f"Dear Sam, {BLACKED_OUT} says hello and {BLACKED_OUT} misses you" in out
        for other in ("Jordan", "Matilda", "Oakfield", "07700"):
            assert other not in out, other
    assert "Sam" in text and copy["subject"]["name"] == "Sam"


async def test_showing_a_blacked_out_name_needs_a_reason_and_the_choice_is_kept_and_recorded(
    client: TestClient, tmp_path: Path
) -> None:
    app = client.server.app
    world, _ = await _family_with_others(client)
    review_path = await _start(client, world, f"child:{world.child_id}")
    html = world.admin.headers(Accept="text/html")
    review = await (await client.get(review_path, headers=html)).text()
    found = re.search(r'<mark class="hit" id="part-(s\d+)">Matilda</mark>', review)
    assert found is not None
    part = review_path + "/parts/" + found.group(1)
    refused = await client.post(
        part, data={"csrf_token": world.admin.csrf, "choice": "show", "reason": " "}, headers=html
    )
    assert refused.status == 422 and "Say why this part may be shown" in await refused.text()
    too_long = "x" * 501
    refused = await client.post(
        part,
        data={"csrf_token": world.admin.csrf, "choice": "show", "reason": too_long},
        headers=html,
    )
    page = await refused.text()
    assert refused.status == 422 and "at most 500 characters; it has 501" in page
    assert too_long in page  # what was typed is not lost
    reason = "Sam already knows his sister is mentioned; no risk"
    shown = await client.post(
        part,
        data={"csrf_token": world.admin.csrf, "choice": "show", "reason": reason},
        headers=html,
        allow_redirects=False,
    )
    assert shown.status == 303
    review = await (await client.get(review_path, headers=html)).text()
    assert f"“Matilda” (another child) is shown. Reason: {reason}" in review
    await client.post(review_path + "/release", data={"csrf_token": world.admin.csrf}, headers=html)
    pdf = await (await client.get(review_path + "/pdf", headers=world.admin.headers())).read()
    text = " ".join(" ".join(pdf_pages_text(pdf, tmp_path)).split())
    assert f"Dear Sam, {BLACKED_OUT} says hello and Matilda misses you" in text
    assert "Jordan" not in text
    async with app[SESSIONMAKER]() as session:
        decided = list(
            await session.scalars(
                select(RecordEvent).where(RecordEvent.kind == "subject_access_span_decided")
            )
        )
    assert len(decided) == 1 and '"shown":true' in decided[0].payload.replace(" ", "")
    assert reason not in decided[0].payload  # the reason stays sealed with the request


async def test_a_parents_copy_blacks_out_the_other_parent_but_not_their_own_name(
    client: TestClient, tmp_path: Path
) -> None:
    world, _ = await _family_with_others(client)
    review_path = await _start(client, world, f"parent:{world.parent.user_id}")
    html = world.admin.headers(Accept="text/html")
    review = await (await client.get(review_path, headers=html)).text()
    assert ">Jordan</mark> <small>[blacked out: another parent]" in review
    await client.post(review_path + "/release", data={"csrf_token": world.admin.csrf}, headers=html)
    copy = json.loads(
        await (await client.get(review_path + "/json", headers=world.admin.headers())).text()
    )
    words = " ".join(e.get("words", "") for s in copy["sections"] for e in s["entries"])
    assert "Jordan" not in words and "Love from Dad" in words


async def test_observation_notes_about_the_child_are_in_the_copy_with_other_people_blacked_out(
    client: TestClient,
) -> None:
    app = client.server.app
    world, _ = await _family_with_others(client, ContactLevel.SUPERVISED)
    note = "Sam drew a picture for Jordan and said Matilda helped."
    async with seeding_sessionmaker(app).begin() as session:
        opening = OpeningSession(
            family_id=world.family_id, child_id=world.child_id, staff_id=world.staff.user_id
        )
        session.add(opening)
        await session.flush()
        session.add(
            ObservationNote(
                family_id=world.family_id,
                contact_level=ContactLevel.SUPERVISED,
                author_id=world.staff.user_id,
                opening_session_id=opening.id,
                text_sealed=await app[KEYRING].seal_for_family(
                    session, world.family_id, note.encode(), NOTE_PURPOSE
                ),
            )
        )
    review_path = await _start(client, world, f"child:{world.child_id}")
    html = world.admin.headers(Accept="text/html")
    await client.post(review_path + "/release", data={"csrf_token": world.admin.csrf}, headers=html)
    copy = json.loads(
        await (await client.get(review_path + "/json", headers=world.admin.headers())).text()
    )
    notes = next(
        s["entries"] for s in copy["sections"] if s["title"].startswith("What staff wrote")
    )
    assert [e["words"] for e in notes] == [
        f"Sam drew a picture for {BLACKED_OUT} and said {BLACKED_OUT} helped."
    ]


async def test_a_part_shown_can_be_blacked_out_again_before_release_and_only_by_the_request(
    client: TestClient,
) -> None:
    app = client.server.app
    world, _ = await _family_with_others(client)
    review_path = await _start(client, world, f"child:{world.child_id}")
    html = world.admin.headers(Accept="text/html")
    review = await (await client.get(review_path, headers=html)).text()
    found = re.search(r'<mark class="hit" id="part-(s\d+)">Jordan</mark>', review)
    assert found is not None
    part = review_path + "/parts/" + found.group(1)
    for choice in ("show", "hide"):
        done = await client.post(
            part,
            data={"csrf_token": world.admin.csrf, "choice": choice, "reason": "checked"},
            headers=html,
            allow_redirects=False,
        )
        assert done.status == 303
    unknown = await client.post(
        review_path + "/parts/s999",
        data={"csrf_token": world.admin.csrf, "choice": "show", "reason": "checked"},
        headers=html,
    )
    assert unknown.status == 404
    await client.post(review_path + "/release", data={"csrf_token": world.admin.csrf}, headers=html)
    copy = json.loads(
        await (await client.get(review_path + "/json", headers=world.admin.headers())).text()
    )
    words = " ".join(e.get("words", "") for s in copy["sections"] for e in s["entries"])
    assert "Jordan" not in words and f"Dear Sam, {BLACKED_OUT} says hello" in words
    late = await client.post(
        part,
        data={"csrf_token": world.admin.csrf, "choice": "show", "reason": "checked"},
        headers=html,
    )
    assert late.status == 409  # released: the copy no longer changes
    async with app[SESSIONMAKER]() as session:
        decided = list(
            await session.scalars(
                select(RecordEvent.payload)
                .where(RecordEvent.kind == "subject_access_span_decided")
                .order_by(RecordEvent.seq)
            )
        )
    assert [('"shown":true' in p.replace(" ", "")) for p in decided] == [True, False]
