"""The moderator sees each scanner flag under a plain name, the new meeting category included."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.support.letterbox_world import make_world, send_letter


async def test_moderator_page_names_a_meeting_proposal_in_plain_words(client: TestClient) -> None:
    world = await make_world(client)
    status, sent = await send_letter(
        client, world, "Can you meet me outside the Co-op on Saturday? Text me on 07700 900123."
    )
    assert status == 201, sent
    item_id = sent["item_id"]
    view = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff.headers())
    ).json()
    hits = {(hit["category"], hit["matched"]) for hit in view["parts"][0]["hits"]}
    assert ("meeting", "meet me outside the Co-op on Saturday") in hits
    assert ("phone", "07700 900123") in hits
    page = await client.get(
        f"/staff/moderation/items/{item_id}", headers=world.staff.headers(Accept="text/html")
    )
    html = await page.text()
    assert page.status == 200, html
    assert "(possible meeting or location)" in html
    assert "(phone number)" in html
    assert 'title="possible meeting or location"' in html
    # The stored category values are not shown raw.
    assert "(meeting)" not in html
