"""Moderation decisions: concurrency, return and reject, the queue."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from service.appkeys import SESSIONMAKER
from storage.models import ModerationDecision, RecordEvent
from tests.support.letterbox_world import World, make_world, send_letter


async def _decide(
    client: TestClient, world: World, item_id: str, headers: dict[str, str], **body: object
) -> tuple[int, dict[str, object]]:
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision", json=body, headers=headers
    )
    return response.status, await response.json()


async def test_two_concurrent_decisions_exactly_one_wins(client: TestClient) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "Hello Sam")
    item_id = sent["item_id"]
    view = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff.headers())
    ).json()
    results = await asyncio.gather(
        _decide(
            client,
            world,
            item_id,
            world.staff.headers(),
            decision="approve",
            version=view["version"],
        ),
        _decide(
            client,
            world,
            item_id,
            world.staff2.headers(),
            decision="reject",
            version=view["version"],
            reason="Not suitable",
        ),
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409], results
    loser = next(body for status, body in results if status == 409)
    assert loser["error"] == "decided_elsewhere"
    assert "Another moderator decided this item" in str(loser["message"])
    async with world.app[SESSIONMAKER]() as session:
        decisions = await session.scalar(
            select(func.count())
            .select_from(ModerationDecision)
            .where(ModerationDecision.item_id == uuid.UUID(item_id))
        )
        assert decisions == 1


async def test_stale_version_is_a_conflict(client: TestClient) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "Hello Sam")
    status, body = await _decide(
        client, world, sent["item_id"], world.staff.headers(), decision="approve", version=1
    )
    assert status == 409 and body["error"] == "decided_elsewhere"


async def test_returned_letter_shows_the_message_to_the_parent(client: TestClient) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "Meet me at the park on Saturday")
    view = await (
        await client.get(f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers())
    ).json()
    status, _ = await _decide(
        client,
        world,
        sent["item_id"],
        world.staff.headers(),
        decision="return",
        version=view["version"],
        message="Please leave out plans to meet; contact is letters only.",
    )
    assert status == 200
    mine = await (
        await client.get(f"/api/items/{sent['item_id']}", headers=world.parent.headers())
    ).json()
    assert mine["status"] == "returned"
    assert mine["return_message"] == "Please leave out plans to meet; contact is letters only."


async def test_rejected_letter_tells_the_parent_only_not_delivered(client: TestClient) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "Something unkind")
    view = await (
        await client.get(f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers())
    ).json()
    status, _ = await _decide(
        client,
        world,
        sent["item_id"],
        world.staff.headers(),
        decision="reject",
        version=view["version"],
        reason="Threatening language toward the resident parent",
    )
    assert status == 200
    response = await client.get(f"/api/items/{sent['item_id']}", headers=world.parent.headers())
    text = await response.text()
    mine = await response.json()
    assert mine["status"] == "not_passed_on" and mine["status_text"] == "Not passed on"
    assert "Threatening" not in text
    async with world.app[SESSIONMAKER]() as session:
        kinds = (
            await session.scalars(
                select(RecordEvent.kind).where(RecordEvent.family_id == world.family_id)
            )
        ).all()
    assert "item_rejected" in kinds


async def test_queue_is_oldest_first_and_filters_by_family_and_direction(
    client: TestClient,
) -> None:
    world = await make_world(client)
    other = await make_world(client, centre_id=world.centre_id)
    _, first = await send_letter(client, world, "first")
    _, second = await send_letter(client, other, "second")
    headers = world.staff.headers()
    everything = await (await client.get("/api/moderation/queue", headers=headers)).json()
    assert [e["item_id"] for e in everything["items"]] == [first["item_id"], second["item_id"]]
    assert all(e["age"] for e in everything["items"])
    only_other = await (
        await client.get(f"/api/moderation/queue?family_id={other.family_id}", headers=headers)
    ).json()
    assert [e["item_id"] for e in only_other["items"]] == [second["item_id"]]
    replies = await (
        await client.get("/api/moderation/queue?direction=to_parent", headers=headers)
    ).json()
    assert replies["items"] == []
    page = await client.get("/staff/moderation", headers=world.staff.headers(Accept="text/html"))
    assert page.status == 200
    assert other.family_id and "Review" in await page.text()


async def test_parent_cannot_reach_moderation(client: TestClient) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "Hello")
    queue = await client.get("/api/moderation/queue", headers=world.parent.headers())
    assert queue.status == 403
    item = await client.get(
        f"/api/moderation/items/{sent['item_id']}", headers=world.parent.headers()
    )
    assert item.status == 403


async def test_original_upload_is_for_admins_only(client: TestClient) -> None:
    from tests.support import images

    world = await make_world(client)
    _, sent = await send_letter(client, world, "", [("p.jpg", images.jpeg_with_everything())])
    part_id = sent["parts"][0]["part_id"]
    url = f"/staff/items/{sent['item_id']}/parts/{part_id}/original"
    assert (await client.get(url, headers=world.staff.headers())).status == 403
    response = await client.get(url, headers=world.admin.headers())
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert b"GPS" in await response.read()
    sanitised = await client.get(
        url.replace("original", "sanitised"), headers=world.staff.headers()
    )
    assert sanitised.status == 200 and sanitised.headers["X-Content-Type-Options"] == "nosniff"
    assert b"GPS" not in await sanitised.read()


async def test_moderator_form_blacks_out_a_flagged_span(client: TestClient) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "Write to me at dad@example.com soon")
    item_id = sent["item_id"]
    view = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff.headers())
    ).json()
    hit = view["parts"][0]["hits"][0]
    response = await client.post(
        f"/staff/moderation/items/{item_id}/decision",
        data={
            "csrf_token": world.staff.csrf,
            "version": str(view["version"]),
            "span": f"{hit['start']}-{hit['end']}",
            "decision": "approve",
        },
        headers=world.staff.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    after = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff.headers())
    ).json()
    assert after["status"] == "approved"
    assert after["parts"][0]["delivered_text"] == "Write to me at █████ soon"
