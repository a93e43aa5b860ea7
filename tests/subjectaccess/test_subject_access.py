"""Subject access: what the centre holds about one person, gathered with other people's
names withheld by default, reviewed, released as PDF and JSON within a month; recorded."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from service.subjectaccess.requests import WITHHELD, one_month_after
from storage.models import (
    Direction,
    Item,
    ItemKind,
    ItemStatus,
    OpeningSession,
    RecordEvent,
)
from tests.support.calls import CallWorld, cookie_header, make_world
from tests.support.export_world import pdf_pages_text
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
