"""The parent's view: own statuses, delivered replies only, no other family's items."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, update

from service.appkeys import SESSIONMAKER
from storage.models import FamilySender, WebSession
from tests.support.letterbox_world import (
    letter_form,
    make_world,
    send_letter,
    start_opening_session,
)
from tests.support.pages import without_random_tokens


async def test_parent_cannot_fetch_undelivered_or_other_family_items(client: TestClient) -> None:
    world = await make_world(client)
    other = await make_world(client, centre_id=world.centre_id)
    _, theirs = await send_letter(client, other, "Another family's letter")

    # A reply still in review (staff typed it in an opening session).
    session_id, device = await start_opening_session(client, world)
    replied = await client.post(
        f"/api/child/sessions/{session_id}/replies",
        data=letter_form("Hi Dad"),
        headers=device.headers(),
    )
    assert replied.status == 201
    reply_id = (await replied.json())["item_id"]
    part_id = (await replied.json())["parts"][0]["part_id"]

    for url in (
        f"/api/items/{reply_id}",
        f"/api/items/{reply_id}/parts/{part_id}/download",
        f"/api/items/{theirs['item_id']}",
    ):
        response = await client.get(url, headers=world.parent.headers())
        assert response.status == 404, url
        assert (await response.json())["error"] == "not_found"
    overview = await (
        await client.get(
            f"/api/families/{world.family_id}/letterbox", headers=world.parent.headers()
        )
    ).json()
    assert overview["replies"] == []
    foreign = await client.get(
        f"/api/families/{other.family_id}/letterbox", headers=world.parent.headers()
    )
    assert foreign.status == 404


async def test_parent_page_lists_items_without_staff_data(client: TestClient) -> None:
    world = await make_world(client, terms=["Greenfield"])
    await send_letter(client, world, "Hope Greenfield is fun, LS6 2AB")
    page = await client.get("/letterbox", headers=world.parent.headers(Accept="text/html"))
    assert page.status == 200
    html = without_random_tokens(await page.text())
    assert "Being checked" in html and "In review" not in html
    writing = await client.get(
        f"/families/{world.family_id}/letterbox", headers=world.parent.headers(Accept="text/html")
    )
    assert 'type="module" src="/static/js/letterbox/upload.js"' in await writing.text()
    for staff_only in ("postcode", "sensitive", "GPS", "Moderator"):
        assert staff_only not in html
    status, body = await send_letter(client, world, "x")
    assert status == 201 and "hits" in body["parts"][0]


async def test_staff_cannot_use_the_parent_pages(client: TestClient) -> None:
    world = await make_world(client)
    response = await client.get(
        f"/api/families/{world.family_id}/letterbox", headers=world.staff.headers()
    )
    assert response.status == 403


async def test_parent_loses_the_letterbox_on_the_request_after_their_family_link_is_revoked(
    client: TestClient,
) -> None:
    world = await make_world(client)
    url = f"/api/families/{world.family_id}/letterbox"
    assert (await client.get(url, headers=world.parent.headers())).status == 200
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(FamilySender)
            .where(FamilySender.user_id == world.parent.user_id)
            .values(approved=False)
        )
    refused = await client.get(url, headers=world.parent.headers())
    assert refused.status == 404


async def test_parent_loses_the_letterbox_on_the_request_after_their_session_is_ended(
    client: TestClient,
) -> None:
    world = await make_world(client)
    url = f"/api/families/{world.family_id}/letterbox"
    assert (await client.get(url, headers=world.parent.headers())).status == 200
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(delete(WebSession).where(WebSession.user_id == world.parent.user_id))
    refused = await client.get(url, headers=world.parent.headers())
    assert refused.status == 401
