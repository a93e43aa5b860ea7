"""The whole letterbox through the API: letter → moderation with redactions → second approval →
opening session → the child replies → the reply is moderated → the parent reads it."""

from __future__ import annotations

import io
import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from service.letterbox.redaction import BLOCK
from storage.models import (
    ContactLevel,
    Item,
    ItemOpening,
    ItemPart,
    ItemStatus,
    ObjectRole,
    OpeningSession,
    RecordEvent,
)
from tests.support import images
from tests.support.letterbox_world import (
    letter_form,
    make_world,
    picture,
    read_stored,
    send_letter,
    start_opening_session,
)
from tests.support.pages import without_random_tokens

LETTER = "Dear Sam, we live at LS6 2AB now. Love, Dad"
BOX = (20, 10, 60, 40)  # x, y, width, height on the 200×120 picture


async def _moderator_view(
    client: TestClient, world_person_headers: dict[str, str], item_id: str
) -> dict[str, Any]:
    response = await client.get(f"/api/moderation/items/{item_id}", headers=world_person_headers)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def test_letter_round_trip_with_redactions_second_approval_and_reply(
    client: TestClient,
) -> None:
    world = await make_world(client, level=ContactLevel.SUPERVISED, second_approval=True)

    # 1. The parent sends a letter with a photo.
    status, sent = await send_letter(
        client,
        world,
        LETTER,
        [("garden.png", picture()), ("gps.jpg", images.jpeg_with_everything())],
    )
    assert status == 201, sent
    item_id = sent["item_id"]

    # 2. The queue shows it, oldest first.
    queue = await (await client.get("/api/moderation/queue", headers=world.staff.headers())).json()
    assert [entry["item_id"] for entry in queue["items"]] == [item_id]

    # 3. A moderator redacts the postcode span, boxes a region of the picture and approves.
    view = await _moderator_view(client, world.staff.headers(), item_id)
    text_part, photo_part, _gps_part = view["parts"]
    postcode = next(hit for hit in text_part["hits"] if hit["category"] == "postcode")
    decision = {
        "decision": "approve_with_redactions",
        "version": view["version"],
        "redactions": {
            "text": [[postcode["start"], postcode["end"]]],
            "images": {photo_part["part_id"]: [list(BOX)]},
        },
    }
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision", json=decision, headers=world.staff.headers()
    )
    assert response.status == 200, await response.text()
    first = await response.json()
    assert first["status"] == "awaiting_second_approval"

    # Nothing is delivered before the second approval.
    async with world.app[SESSIONMAKER]() as session:
        item = await session.get(Item, uuid.UUID(item_id))
        assert item is not None and item.status is ItemStatus.AWAITING_SECOND_APPROVAL

    # 4. The same moderator cannot confirm; a different one can.
    confirm = {"decision": "confirm", "version": first["version"]}
    same = await client.post(
        f"/api/moderation/items/{item_id}/decision", json=confirm, headers=world.staff.headers()
    )
    assert same.status == 403
    assert (await same.json())["error"] == "same_moderator"
    other = await client.post(
        f"/api/moderation/items/{item_id}/decision", json=confirm, headers=world.staff2.headers()
    )
    assert other.status == 200, await other.text()
    assert (await other.json())["status"] == "approved"

    # 5. Staff open a session for the child on a centre device.
    # Its device cookie goes with the centre device only; staff pages are used elsewhere.
    session_id, device = await start_opening_session(client, world)

    listed = await (
        await client.get(f"/api/child/sessions/{session_id}/items", headers=device.headers())
    ).json()
    assert [i["item_id"] for i in listed["items"]] == [item_id]

    # 6. The child view shows the redacted text and the boxed picture.
    opened = await client.post(
        f"/api/child/sessions/{session_id}/items/{item_id}/open", headers=device.headers()
    )
    assert opened.status == 200, await opened.text()
    content = await opened.json()
    assert "LS6 2AB" not in content["text"]
    assert content["text"] == LETTER.replace("LS6 2AB", BLOCK)
    assert len(content["pictures"]) == 2
    served = await client.get(content["pictures"][0]["url"], headers=device.headers())
    assert served.status == 200
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    # Served files keep their sandbox, whatever the site-wide policy adds (issue 19).
    assert any("sandbox" in csp for csp in served.headers.getall("Content-Security-Policy"))
    with Image.open(io.BytesIO(await served.read())) as delivered:
        delivered = delivered.convert("RGB")
        x, y, w, h = BOX
        box_pixels = {delivered.getpixel((i, j)) for i in range(x, x + w) for j in range(y, y + h)}
        assert box_pixels == {(0, 0, 0)}
        assert delivered.getpixel((x + w + 5, y + h + 5)) != (0, 0, 0)
    page = await client.get(
        f"/child/sessions/{session_id}/items/{item_id}",
        headers=device.headers(Accept="text/html"),
    )
    html = without_random_tokens(await page.text())
    assert BLOCK in html and "LS6 2AB" not in html
    assert "Moderator" not in html and "postcode" not in html  # no staff-only data

    # The delivered copies are new objects; the sanitised ones stay as they were.
    async with world.app[SESSIONMAKER]() as session:
        item = await session.get(Item, uuid.UUID(item_id))
        assert item is not None and item.status is ItemStatus.OPENED and item.opened_at
        openings = (
            await session.scalars(select(ItemOpening).where(ItemOpening.item_id == item.id))
        ).all()
        assert [o.staff_id for o in openings] == [world.staff.user_id]
    view = await _moderator_view(client, world.staff.headers(), item_id)
    assert view["parts"][0]["text"] == LETTER

    # 7. The child replies (typed by staff) with a photo of a drawing.
    reply_form = letter_form(
        "Thank you Dad! I drew a cat.", [("drawing.jpg", images.jpeg_with_everything())]
    )
    replied = await client.post(
        f"/api/child/sessions/{session_id}/replies", data=reply_form, headers=device.headers()
    )
    assert replied.status == 201, await replied.text()
    reply_id = (await replied.json())["item_id"]

    # The parent cannot read it yet.
    early = await client.get(f"/api/items/{reply_id}", headers=world.parent.headers())
    assert early.status == 404

    # 8. The reply is moderated (two moderators: this family needs two). The staff member who
    # typed it may not approve it, so the second is the admin.
    reply_view = await _moderator_view(client, world.staff2.headers(), reply_id)
    assert reply_view["direction"] == "to_parent"
    approved = await client.post(
        f"/api/moderation/items/{reply_id}/decision",
        json={"decision": "approve", "version": reply_view["version"]},
        headers=world.staff2.headers(),
    )
    assert approved.status == 200, await approved.text()
    confirmed = await client.post(
        f"/api/moderation/items/{reply_id}/decision",
        json={"decision": "confirm", "version": (await approved.json())["version"]},
        headers=world.admin.headers(),
    )
    assert confirmed.status == 200

    # 9. The parent reads it and downloads the picture.
    reply = await (
        await client.get(f"/api/items/{reply_id}", headers=world.parent.headers())
    ).json()
    assert reply["text"] == "Thank you Dad! I drew a cat."
    picture_file = next(f for f in reply["files"] if f["kind"] == "image")
    download = await client.get(picture_file["download_url"], headers=world.parent.headers())
    assert download.status == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert any("sandbox" in csp for csp in download.headers.getall("Content-Security-Policy"))
    assert download.content_type == "image/jpeg"
    assert b"GPS" not in await download.read()
    overview = await (
        await client.get(
            f"/api/families/{world.family_id}/letterbox", headers=world.parent.headers()
        )
    ).json()
    assert overview["items"][0]["status"] == "opened"
    assert overview["items"][0]["status_text"].startswith("Opened on ")
    assert [r["item_id"] for r in overview["replies"]] == [reply_id]

    # 10. Ending the session records attendance; every step is in the family record.
    ended = await client.post(
        f"/api/opening-sessions/{session_id}/end", headers=world.staff.headers()
    )
    assert ended.status == 200
    async with world.app[SESSIONMAKER]() as session:
        opening = await session.get(OpeningSession, uuid.UUID(session_id))
        assert opening is not None and opening.ended_at is not None
        kinds = (
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.family_id == world.family_id)
                .order_by(RecordEvent.family_seq)
            )
        ).all()
    assert kinds == [
        "item_submitted",
        "item_in_review",
        "item_moderated",
        "item_approved",
        "item_delivered",
        "opening_session_started",
        "item_opened",
        "reply_submitted",
        "item_in_review",
        "item_moderated",
        "item_approved",
        "item_delivered",
        "opening_session_ended",
    ]
    # The delivered picture is a new encrypted object with the delivered role.
    part_id = uuid.UUID(content["pictures"][0]["part_id"])
    async with world.app[SESSIONMAKER]() as session:
        part = await session.get(ItemPart, part_id)
        assert part is not None and part.delivered_object_id is not None
        assert part.delivered_object_id != part.sanitised_object_id
    stored, _ = await read_stored(world.app, part.delivered_object_id)
    assert stored.role is ObjectRole.DELIVERED
