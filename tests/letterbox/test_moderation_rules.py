"""Moderation rules: separation of duties, withdrawn first approvals leave nothing stored, and the
server checks every box and span, naming the field — through the API and the moderation page."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import SESSIONMAKER, VAULT
from service.letterbox.redaction import BLOCK
from storage.models import ContactLevel, ItemPart, RecordEvent, StoredObject
from storage.vault import object_name
from tests.support.letterbox_world import (
    Person,
    World,
    letter_form,
    make_world,
    picture,
    send_letter,
    start_opening_session,
)

LETTER = "Dear Sam, we live at LS6 2AB now. Love, Dad"


async def _view(client: TestClient, person: Person, item_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/moderation/items/{item_id}", headers=person.headers())
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def _decide(
    client: TestClient, person: Person, item_id: str, **body: object
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision", json=body, headers=person.headers()
    )
    return response.status, await response.json()


async def _decide_form(
    client: TestClient, person: Person, item_id: str, fields: list[tuple[str, str]]
) -> tuple[int, str]:
    response = await client.post(
        f"/staff/moderation/items/{item_id}/decision",
        data=[("csrf_token", person.csrf), *fields],
        headers=person.headers(Accept="text/html"),
        allow_redirects=False,
    )
    return response.status, await response.text()


async def _typed_reply(client: TestClient, world: World) -> str:
    session_id, device = await start_opening_session(client, world)
    replied = await client.post(
        f"/api/child/sessions/{session_id}/replies",
        data=letter_form("Thank you Dad!"),
        headers=device.headers(),
    )
    assert replied.status == 201, await replied.text()
    return str((await replied.json())["item_id"])


# --- separation of duties ---------------------------------------------------------------------


async def test_moderator_cannot_approve_a_reply_they_typed(client: TestClient) -> None:
    world = await make_world(client)
    reply_id = await _typed_reply(client, world)  # typed by world.staff on the centre device
    view = await _view(client, world.staff, reply_id)

    status, body = await _decide(
        client, world.staff, reply_id, decision="approve", version=view["version"]
    )
    assert status == 403
    assert body["error"] == "own_item"
    assert "You typed this reply yourself" in body["message"]

    # The page says so before anyone tries, offers no approve button, and refuses a forged one.
    page = await client.get(
        f"/staff/moderation/items/{reply_id}", headers=world.staff.headers(Accept="text/html")
    )
    html = await page.text()
    assert 'id="typed-by-you"' in html and 'value="approve"' not in html
    status, html = await _decide_form(
        client, world.staff, reply_id, [("version", str(view["version"])), ("decision", "approve")]
    )
    assert status == 403
    assert 'id="decision-error"' in html and "another moderator must approve it" in html

    # Someone else may.
    status, body = await _decide(
        client, world.staff2, reply_id, decision="approve", version=view["version"]
    )
    assert status == 200 and body["status"] == "approved"


async def test_moderator_cannot_confirm_a_reply_they_typed(client: TestClient) -> None:
    world = await make_world(client, second_approval=True)
    reply_id = await _typed_reply(client, world)
    view = await _view(client, world.staff2, reply_id)
    status, first = await _decide(
        client, world.staff2, reply_id, decision="approve", version=view["version"]
    )
    assert status == 200 and first["status"] == "awaiting_second_approval"
    status, body = await _decide(
        client, world.staff, reply_id, decision="confirm", version=first["version"]
    )
    assert status == 403 and body["error"] == "own_item"
    status, body = await _decide(
        client, world.admin, reply_id, decision="confirm", version=first["version"]
    )
    assert status == 200 and body["status"] == "approved"


# --- a first approval withdrawn --------------------------------------------------------------


@pytest.mark.parametrize("second", ["return", "reject"])
async def test_second_moderator_refusing_a_first_approval_deletes_its_delivered_copies(
    client: TestClient, second: str
) -> None:
    world = await make_world(client, level=ContactLevel.SUPERVISED, second_approval=True)
    _, sent = await send_letter(client, world, LETTER, [("garden.png", picture())])
    item_id = sent["item_id"]
    view = await _view(client, world.staff, item_id)
    text_part, photo_part = view["parts"]
    status, first = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        redactions={"text": [[21, 28]], "images": {photo_part["part_id"]: [[10, 10, 50, 50]]}},
    )
    assert status == 200 and first["status"] == "awaiting_second_approval"

    async with world.app[SESSIONMAKER]() as session:
        parts = (
            await session.scalars(select(ItemPart).where(ItemPart.item_id == uuid.UUID(item_id)))
        ).all()
        delivered = {p.delivered_object_id for p in parts}
    assert None not in delivered and len(delivered) == 2
    store = world.app[VAULT].objects
    names = [object_name(world.family_id, object_id) for object_id in delivered if object_id]
    for name in names:
        assert await store.exists(name)

    status, body = await _decide(
        client,
        world.staff2,
        item_id,
        decision=second,
        version=first["version"],
        message="Please do not mention where you live.",
    )
    assert status == 200, body
    assert "withdrawn_objects" not in body

    async with world.app[SESSIONMAKER]() as session:
        parts = (
            await session.scalars(select(ItemPart).where(ItemPart.item_id == uuid.UUID(item_id)))
        ).all()
        assert [p.delivered_object_id for p in parts] == [None, None]
        # The sanitised copies stay sealed for the record.
        assert all(p.sanitised_object_id is not None for p in parts)
        rows = (
            await session.scalars(
                select(StoredObject.id).where(StoredObject.id.in_([d for d in delivered if d]))
            )
        ).all()
        assert rows == []
        event = await session.scalar(
            select(RecordEvent)
            .where(RecordEvent.family_id == world.family_id)
            .order_by(RecordEvent.family_seq.desc())
            .limit(1)
        )
    for name in names:
        assert not await store.exists(name)
    assert event is not None
    assert event.kind == ("item_returned" if second == "return" else "item_rejected")
    withdrawn = json.loads(event.payload)["withdrawn_delivered"]
    assert {w["object_id"] for w in withdrawn} == {str(d) for d in delivered}
    # The moderation page no longer offers a delivered copy.
    assert not any(p["delivered"] for p in (await _view(client, world.staff, item_id))["parts"])
    assert text_part["text"] == LETTER


# --- the server checks boxes and spans ---------------------------------------------------------


async def _letter_with_picture(client: TestClient) -> tuple[World, str, dict[str, Any]]:
    world = await make_world(client)
    _, sent = await send_letter(client, world, LETTER, [("garden.png", picture((200, 120)))])
    return world, sent["item_id"], await _view(client, world.staff, sent["item_id"])


async def test_box_outside_the_picture_is_refused_naming_the_field(client: TestClient) -> None:
    world, item_id, view = await _letter_with_picture(client)
    part_id = view["parts"][1]["part_id"]
    status, body = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        redactions={"images": {part_id: [[150, 100, 60, 30]]}},
    )
    assert status == 422
    assert body["field"] == f"redactions.images.{part_id}"
    assert "goes outside the picture, which is 200 pixels wide and 120 high" in body["message"]

    # Through the page: the message sits next to that picture's box field, what was typed stays.
    status, html = await _decide_form(
        client,
        world.staff,
        item_id,
        [
            ("version", str(view["version"])),
            (f"boxes-{part_id}", "150,100,60,30"),
            ("decision", "approve"),
        ],
    )
    assert status == 422
    assert f'id="boxes-{part_id}-error"' in html
    assert "goes outside the picture" in html
    assert ">150,100,60,30</textarea>" in html
    assert f'aria-describedby="boxes-{part_id}-hint boxes-{part_id}-error"' in html


@pytest.mark.parametrize("box", ["0,0,0,10", "-1,0,10,10", "a,b,c,d"])
async def test_empty_negative_or_unreadable_box_is_refused(client: TestClient, box: str) -> None:
    world, item_id, view = await _letter_with_picture(client)
    part_id = view["parts"][1]["part_id"]
    status, html = await _decide_form(
        client,
        world.staff,
        item_id,
        [("version", str(view["version"])), (f"boxes-{part_id}", box), ("decision", "approve")],
    )
    assert status == 422
    assert f'id="boxes-{part_id}-error"' in html


async def test_span_outside_the_letter_is_refused_naming_the_field(client: TestClient) -> None:
    world, item_id, view = await _letter_with_picture(client)
    status, body = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        redactions={"text": [[30, 400]]},
    )
    assert status == 422
    assert body["field"] == "redactions.text"
    assert f"the letter has {len(LETTER)} characters" in body["message"]
    status, html = await _decide_form(
        client,
        world.staff,
        item_id,
        [("version", str(view["version"])), ("extra_spans", "30-400"), ("decision", "approve")],
    )
    assert status == 422
    assert 'id="extra_spans-error"' in html and 'value="30-400"' in html


async def test_selected_span_and_drawn_box_fields_make_the_delivered_copy(
    client: TestClient,
) -> None:
    """What the page's drawing and selecting fill in (x,y,w,h lines; start-end spans) is what
    the server applies."""
    world, item_id, view = await _letter_with_picture(client)
    part_id = view["parts"][1]["part_id"]
    start = LETTER.index("LS6 2AB")
    status, _ = await _decide_form(
        client,
        world.staff,
        item_id,
        [
            ("version", str(view["version"])),
            ("extra_spans", f"{start}-{start + 7}"),
            (f"boxes-{part_id}", "20,10,60,40\n100,50,20,20"),
            ("decision", "approve"),
        ],
    )
    assert status == 303
    after = await _view(client, world.staff, item_id)
    assert after["status"] == "approved"
    assert after["parts"][0]["delivered_text"] == LETTER.replace("LS6 2AB", BLOCK)
    assert after["parts"][1]["delivered"]


async def test_moderation_page_labels_every_field_and_loads_the_drawing_module(
    client: TestClient,
) -> None:
    world, item_id, view = await _letter_with_picture(client)
    part_id = view["parts"][1]["part_id"]
    page = await client.get(
        f"/staff/moderation/items/{item_id}", headers=world.staff.headers(Accept="text/html")
    )
    html = await page.text()
    assert 'src="/static/js/letterbox/redact.js"' in html
    assert f'data-boxes-input="boxes-{part_id}"' in html and 'data-width="200"' in html
    for field_id in ("extra_spans", f"boxes-{part_id}", "message"):
        assert f'<label for="{field_id}">' in html
    assert "Black out the selected words" in html
    # The letter is shown exactly, so selected positions are positions in the letter.
    assert (
        'data-spans-input="extra_spans" data-status="text-status">Dear Sam, we live at '
        '<mark class="hit" title="postcode">LS6 2AB</mark> now. Love, Dad</div>'
    ) in html
