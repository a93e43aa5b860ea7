"""No approval past an unresolved flag: every scanner hit, in the letter or in the words read
from a picture, must be covered by a redaction or passed as safe with a reason before the
server approves — through the JSON API and the page form alike — and the record says who
passed what. Adversary tests: a moderator (or a forged request) trying to slip one past."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from service.appkeys import KEYRING, SESSIONMAKER
from service.letterbox.flags import Flag, boxes_cover, covered
from service.letterbox.redaction import Box, Span
from storage import recordformat as rf
from storage.models import Item, ItemPart, ItemStatus, ModerationDecision, RecordEvent
from storage.record import KeyRingPayloadSealer, reveal_payload
from tests.support.images import NOTE, POSTCODE, SCHOOL
from tests.support.letterbox_world import Person, World, make_world, send_letter

PHONE = "07700 900123"
EMAIL = "dad.jones@example.com"


async def _view(client: TestClient, person: Person, item_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/moderation/items/{item_id}", headers=person.headers())
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _decide(
    client: TestClient, person: Person, item_id: str, **body: object
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision", json=body, headers=person.headers()
    )
    return response.status, await response.json()


def _hit(view: dict[str, Any], matched: str) -> dict[str, Any]:
    hits = [hit for part in view["parts"] for hit in part["hits"] if matched in hit["matched"]]
    assert hits, f"the scanner did not flag {matched!r}: {view['parts']}"
    return hits[0]


def _others(view: dict[str, Any], *hits: dict[str, Any]) -> dict[str, str]:
    """Every flag but ``hits`` passed as safe: the scanner may flag more of a letter than the
    detail a test is about (and may flag more as it improves)."""
    keep = {hit["flag"] for hit in hits}
    return {
        hit["flag"]: "Checked by the test: not a personal detail"
        for part in view["parts"]
        for hit in part["hits"]
        if hit["flag"] not in keep
    }


async def _nothing_delivered(world: World, item_id: str) -> None:
    """The item is still waiting for review: no decision, no delivered copy, no event."""
    async with world.app[SESSIONMAKER]() as session:
        item = await session.get(Item, uuid.UUID(item_id))
        assert item is not None and item.status is ItemStatus.IN_REVIEW
        delivered = await session.scalar(
            select(func.count())
            .select_from(ItemPart)
            .where(ItemPart.item_id == item.id, ItemPart.delivered_object_id.is_not(None))
        )
        decisions = await session.scalar(
            select(func.count())
            .select_from(ModerationDecision)
            .where(ModerationDecision.item_id == item.id)
        )
        kinds = set(
            (
                await session.scalars(
                    select(RecordEvent.kind).where(RecordEvent.family_id == world.family_id)
                )
            ).all()
        )
    assert delivered == 0 and decisions == 0
    assert not kinds & {"item_moderated", "item_approved", "item_delivered"}


async def _events(world: World, kind: str) -> list[dict[str, Any]]:
    async with world.app[SESSIONMAKER]() as session:
        rows = (
            await session.scalars(
                select(RecordEvent)
                .where(RecordEvent.family_id == world.family_id, RecordEvent.kind == kind)
                .order_by(RecordEvent.family_seq)
            )
        ).all()
        sealer = KeyRingPayloadSealer(world.app[KEYRING])
        return [
            {
                "raw": rf.parse_canonical(row.payload),
                "open": await reveal_payload(session, row, sealer),
            }
            for row in rows
        ]


async def test_approving_past_an_unresolved_phone_number_is_refused_and_nothing_is_delivered(
    client: TestClient,
) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, f"Ring me on {PHONE} after school, love Dad")
    item_id = sent["item_id"]
    view = await _view(client, world.staff, item_id)
    hit = _hit(view, PHONE)
    assert hit["category"] == "phone" and hit["flag"]

    # One click on "approve", as before: refused, and it says which flag and what to do.
    status, body = await _decide(
        client, world.staff, item_id, decision="approve", version=view["version"]
    )
    assert status == 422, body
    assert body["error"] == "unresolved_flags" and body["field"] == "flags"
    assert PHONE in body["message"] and "phone" in body["message"]
    assert "black it out" in body["message"] and "safe to pass" in body["message"]
    # Blacking out some other words does not resolve it either.
    status, body = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        redactions={"text": [[0, 4]]},
    )
    assert status == 422 and body["error"] == "unresolved_flags", body
    await _nothing_delivered(world, item_id)
    mine = await (await client.get(f"/api/items/{item_id}", headers=world.parent.headers())).json()
    assert mine["status"] == "being_checked"
    queue = await (await client.get("/api/moderation/queue", headers=world.staff.headers())).json()
    assert item_id in [entry["item_id"] for entry in queue["items"]]


async def test_a_redaction_covering_only_part_of_a_flag_is_refused(client: TestClient) -> None:
    world = await make_world(client)
    text = f"Ring me on {PHONE} after school"
    _, sent = await send_letter(client, world, text)
    item_id = sent["item_id"]
    view = await _view(client, world.staff, item_id)
    hit = _hit(view, PHONE)
    start, end = hit["start"], hit["end"]
    for spans in ([[start, end - 3]], [[start + 1, end]], [[start, start + 4], [start + 5, end]]):
        status, body = await _decide(
            client,
            world.staff,
            item_id,
            decision="approve_with_redactions",
            version=view["version"],
            redactions={"text": spans},
            safe_to_pass=_others(view, hit),
        )
        assert status == 422 and body["error"] == "unresolved_flags", (spans, body)
        assert PHONE in body["message"] and "1 flag is not resolved" in body["message"]
    await _nothing_delivered(world, item_id)

    # Two spans that meet inside the number cover all of it together.
    middle = (start + end) // 2
    status, body = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        redactions={"text": [[start, middle], [middle, end]]},
        safe_to_pass=_others(view, hit),
    )
    assert status == 200 and body["status"] == "approved", body
    delivered = (await _view(client, world.staff, item_id))["parts"][0]["delivered_text"]
    assert "900123" not in delivered and "07700" not in delivered


async def test_passing_a_flag_as_safe_needs_a_short_reason(client: TestClient) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, f"Ring me on {PHONE} after school")
    item_id = sent["item_id"]
    view = await _view(client, world.staff, item_id)
    flag = _hit(view, PHONE)["flag"]
    for reason, says in (
        ("", "write a short reason"),
        ("   ", "write a short reason"),
        ("x" * 301, "keep it to 300"),
    ):
        status, body = await _decide(
            client, world.staff, item_id, decision="approve", version=view["version"],
            safe_to_pass={flag: reason},
        )  # fmt: skip
        assert status == 422 and body["field"] == f"safe_to_pass.{flag}", body
        assert says in body["message"]
    # A flag of another item, or a made-up one, resolves nothing.
    status, body = await _decide(
        client, world.staff, item_id, decision="approve", version=view["version"],
        safe_to_pass={f"{uuid.uuid4()}.0": "made up"},
    )  # fmt: skip
    assert status == 422 and body["field"] == "safe_to_pass", body
    await _nothing_delivered(world, item_id)


async def test_flags_passed_as_safe_with_reasons_are_approved_and_counted_in_the_record(
    client: TestClient,
) -> None:
    world = await make_world(client)
    text = f"Ring me on {PHONE} or write to {EMAIL}, love Dad"
    _, sent = await send_letter(client, world, text)
    item_id = sent["item_id"]
    view = await _view(client, world.staff, item_id)
    phone, email = _hit(view, PHONE), _hit(view, EMAIL)
    reason = "The contact centre's own number, given by the order"
    status, body = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        safe_to_pass={**_others(view, phone, email), phone["flag"]: reason},
        black_out=[email["flag"]],
    )
    assert status == 200 and body["status"] == "approved", body
    delivered = (await _view(client, world.staff, item_id))["parts"][0]["delivered_text"]
    assert PHONE in delivered and EMAIL not in delivered and "example.com" not in delivered

    [moderated] = await _events(world, "item_moderated")
    counts = moderated["open"]["flags"]
    assert counts["total"] == len(view["parts"][0]["hits"])
    passed_count = 1 + len(_others(view, phone, email))
    assert counts["passed_as_safe"] == passed_count and counts["blacked_out"] >= 1
    assert counts["passed_by"] == str(world.staff.user_id)
    passed = {entry["flag"]: entry for entry in moderated["open"]["passed_as_safe"]}[phone["flag"]]
    assert passed["flag"] == phone["flag"] and passed["category"] == "phone"
    assert passed["reason"] == reason
    # The reason is sealed in the stored record like other moderation text.
    assert all(set(e["reason"]) == {"$sealed"} for e in moderated["raw"]["passed_as_safe"])
    assert reason not in str(moderated["raw"])
    async with world.app[SESSIONMAKER]() as session:
        decision = await session.scalar(
            select(ModerationDecision).where(ModerationDecision.item_id == uuid.UUID(item_id))
        )
    assert decision is not None and decision.reason_sealed is not None
    assert decision.redactions["flags"][phone["flag"]] == "safe"
    assert decision.redactions["flags"][email["flag"]] == "black_out"
    assert reason.encode() not in decision.reason_sealed


async def test_a_flag_in_a_picture_is_resolved_only_when_boxes_cover_its_words(
    client: TestClient,
) -> None:
    world = await make_world(client, terms=[SCHOOL])
    _, sent = await send_letter(client, world, "", [("note.png", NOTE)])
    item_id = sent["item_id"]
    view = await _view(client, world.staff, item_id)
    image = next(part for part in view["parts"] if part["kind"] == "image")
    postcode = _hit(view, POSTCODE)
    others = [hit["flag"] for hit in image["hits"] if hit["flag"] != postcode["flag"]]
    safe = {flag: "Checked: not this family's details" for flag in others}
    # A box over the left half of the postcode's words only.
    x, y, w, h = postcode["boxes"][0]
    half = [[x, y, max(1, w // 2), h]]
    status, body = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        redactions={"images": {image["part_id"]: half}},
        safe_to_pass=safe,
    )
    assert status == 422 and body["error"] == "unresolved_flags", body
    assert POSTCODE in body["message"] and "picture 1" in body["message"]
    await _nothing_delivered(world, item_id)

    status, body = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        black_out=[postcode["flag"]],
        safe_to_pass=safe,
    )
    assert status == 200 and body["status"] == "approved", body


async def test_the_second_moderator_sees_the_first_moderators_choices_and_must_resolve_any_left(
    client: TestClient,
) -> None:
    world = await make_world(client, second_approval=True)
    _, sent = await send_letter(client, world, f"Ring me on {PHONE} or write to {EMAIL}")
    item_id = sent["item_id"]
    view = await _view(client, world.staff, item_id)
    phone, email = _hit(view, PHONE), _hit(view, EMAIL)
    reason = "Number of the contact centre itself"
    status, first = await _decide(
        client,
        world.staff,
        item_id,
        decision="approve_with_redactions",
        version=view["version"],
        safe_to_pass={**_others(view, phone, email), phone["flag"]: reason},
        black_out=[email["flag"]],
    )
    assert status == 200 and first["status"] == "awaiting_second_approval", first

    second_view = await _view(client, world.staff2, item_id)
    choices = second_view["first_choices"]
    assert choices[phone["flag"]]["choice"] == "safe"
    assert choices[phone["flag"]]["reason"] == reason
    assert choices[phone["flag"]]["moderator"] == "Moderator One"
    assert choices[email["flag"]]["choice"] == "black_out"
    page = await (
        await client.get(
            f"/staff/moderation/items/{item_id}", headers=world.staff2.headers(Accept="text/html")
        )
    ).text()
    assert f"Moderator One passed this as safe: “{reason}”" in page
    assert "Moderator One blacked this out." in page

    # A first approval that left its flags open — a row written before this rule, straight
    # through the engine as old code would have — cannot be confirmed until the second
    # moderator passes them with a reason. Nothing can be blacked out any more at this stage.
    engine = world.app[SESSIONMAKER].kw["bind"]
    async with engine.begin() as connection:
        await connection.execute(
            update(ModerationDecision)
            .where(ModerationDecision.item_id == uuid.UUID(item_id))
            .values(redactions={"text": [], "images": {}})
        )
    status, body = await _decide(
        client,
        world.staff2,
        item_id,
        decision="confirm",
        version=first["version"],
        black_out=[phone["flag"]],
    )
    assert status == 422 and body["field"] == "black_out", body
    status, body = await _decide(
        client, world.staff2, item_id, decision="confirm", version=first["version"]
    )
    assert status == 422 and body["error"] == "unresolved_flags", body
    assert PHONE in body["message"] and EMAIL in body["message"]
    status, body = await _decide(
        client,
        world.staff2,
        item_id,
        decision="confirm",
        version=first["version"],
        safe_to_pass={
            **_others(view, phone, email),
            phone["flag"]: "The centre's number",
            email["flag"]: "The centre's own address",
        },
    )
    assert status == 200 and body["status"] == "approved", body
    [approved] = await _events(world, "item_approved")
    assert approved["open"]["flags"]["passed_as_safe"] == 2 + len(_others(view, phone, email))
    assert approved["open"]["flags"]["passed_by"] == str(world.staff2.user_id)


async def test_the_page_form_refuses_an_unresolved_flag_and_takes_a_reason_without_scripts(
    client: TestClient,
) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, f"Ring me on {PHONE} after school")
    item_id = sent["item_id"]
    view = await _view(client, world.staff, item_id)
    hit = _hit(view, PHONE)
    flag = hit["flag"]
    url = f"/staff/moderation/items/{item_id}/decision"
    headers = world.staff.headers(Accept="text/html")
    base = {"csrf_token": world.staff.csrf, "version": str(view["version"]), "decision": "approve"}
    refused = await client.post(url, data=base, headers=headers, allow_redirects=False)
    html = await refused.text()
    assert refused.status == 422
    assert 'id="flags-error"' in html and PHONE in html and "not resolved" in html
    # "Safe to pass" chosen with no reason: refused beside that flag's reason field.
    refused = await client.post(
        url, data={**base, f"flag-{flag}": "safe"}, headers=headers, allow_redirects=False
    )
    html = await refused.text()
    field_id = "flag-" + flag.replace(".", "-") + "-reason"
    assert refused.status == 422 and f'id="{field_id}-error"' in html
    assert f'aria-describedby="{field_id}-hint {field_id}-error"' in html
    await _nothing_delivered(world, item_id)
    accepted = await client.post(
        url,
        data={
            **base,
            **{f"reason-{name}": why for name, why in _others(view, hit).items()},
            f"flag-{flag}": "safe",
            f"reason-{flag}": "The centre's own number",
        },
        headers=headers,
        allow_redirects=False,
    )
    assert accepted.status == 303, await accepted.text()
    assert (await _view(client, world.staff, item_id))["status"] == "approved"


def _flag(boxes: list[Box]) -> Flag:
    return Flag("p.0", "p", False, 0, 4, "postcode", tuple(boxes), "SW1A", "picture 1")


def test_boxes_cover_a_hit_only_when_their_union_leaves_no_pixel_of_it_open() -> None:
    target = Box(10, 10, 100, 20)
    assert boxes_cover(target, [Box(0, 0, 200, 100)])
    assert boxes_cover(target, [Box(10, 10, 50, 20), Box(60, 10, 50, 20)])  # side by side
    assert boxes_cover(target, [Box(10, 10, 100, 10), Box(10, 20, 100, 10)])  # stacked
    assert not boxes_cover(target, [Box(10, 10, 50, 20), Box(61, 10, 49, 20)])  # 1px gap
    assert not boxes_cover(target, [Box(10, 10, 100, 19)])  # one row short
    assert not boxes_cover(target, [])
    # A picture hit with no known place cannot be proven covered, whatever is drawn.
    assert not covered(_flag([]), [], [Box(0, 0, 1000, 1000)])
    assert covered(_flag([target]), [], [Box(0, 0, 1000, 1000)])
    text_flag = Flag("t.0", "t", True, 5, 17, "phone", (), PHONE, "the letter")
    assert covered(text_flag, [Span(0, 10), Span(10, 20)], [])
    assert not covered(text_flag, [Span(0, 10), Span(11, 20)], [])
